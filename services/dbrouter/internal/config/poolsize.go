package config

import (
	"bufio"
	"os"
	"strconv"
	"strings"
)

// Bounds of DefaultPoolSize, from the scaling guide's per-database
// connection limit.
const (
	minDerivedPoolSize = 10
	maxDerivedPoolSize = 50
)

// DefaultPoolSize is the scaling guide's connection limit of one database's
// pool: max(2 × CPUs, 10) plus one per 2 GiB of memory, at most 50. On the
// 2-core, 8 GiB development machine that is 10 + 4 = 14.
func DefaultPoolSize(cpus int, memBytes int64) int {
	base := max(2*cpus, minDerivedPoolSize)
	return min(base+int(memBytes>>30)/2, maxDerivedPoolSize)
}

// MemoryBytes is the memory this process may use: the cgroup (v2) limit
// when there is one, else the machine's MemTotal; 0 when neither can be read.
func MemoryBytes() int64 {
	total := memTotal()
	if b, err := os.ReadFile("/sys/fs/cgroup/memory.max"); err == nil {
		if n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil && n > 0 && (total == 0 || n < total) {
			return n
		}
	}
	return total
}

func memTotal() int64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "MemTotal:" {
			kb, err := strconv.ParseInt(fields[1], 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}
