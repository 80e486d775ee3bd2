package load

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// RSSPeak is the most memory the suite's processes held while sampled.
type RSSPeak struct {
	// MaxKiB is each process's largest VmRSS, by name (the pid file's name).
	MaxKiB map[string]int64 `json:"maxKiB"`
	// TotalMaxKiB is the largest sum over the processes at one sample.
	TotalMaxKiB int64 `json:"totalMaxKiB"`
	// Samples is how many samples were taken.
	Samples int `json:"samples"`
}

// RSSSampler reads the VmRSS of every process named by a <name>.pid file
// in a folder (make run's .run/) at an interval and keeps the peaks.
type RSSSampler struct {
	dir      string
	interval time.Duration
	mu       sync.Mutex
	phase    RSSPeak
	overall  RSSPeak
}

// NewRSSSampler samples the processes of the pid files in dir (a
// comma-separated list of folders).
func NewRSSSampler(dir string, interval time.Duration) *RSSSampler {
	return &RSSSampler{dir: dir, interval: interval,
		phase: RSSPeak{MaxKiB: map[string]int64{}}, overall: RSSPeak{MaxKiB: map[string]int64{}}}
}

// Processes returns the live processes named by pid files, by name.
func (s *RSSSampler) Processes() map[string]int { return PidFiles(s.dir) }

// PidFiles returns the live processes named by the <name>.pid files of
// dirs (a comma-separated list of folders), by name.
func PidFiles(dirs string) map[string]int {
	out := map[string]int{}
	var files []string
	for _, dir := range strings.Split(dirs, ",") {
		if dir = strings.TrimSpace(dir); dir != "" {
			fs, _ := filepath.Glob(filepath.Join(dir, "*.pid"))
			files = append(files, fs...)
		}
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 0 {
			continue
		}
		if _, err := os.Stat("/proc/" + strconv.Itoa(pid)); err != nil {
			continue
		}
		out[strings.TrimSuffix(filepath.Base(f), ".pid")] = pid
	}
	return out
}

// Run samples until ctx ends.
func (s *RSSSampler) Run(ctx context.Context) {
	t := time.NewTicker(s.interval)
	defer t.Stop()
	for {
		s.Sample()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Sample takes one sample now.
func (s *RSSSampler) Sample() {
	var total int64
	cur := map[string]int64{}
	for name, pid := range s.Processes() {
		if kib, ok := VmRSS(pid); ok {
			cur[name] = kib
			total += kib
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range []*RSSPeak{&s.phase, &s.overall} {
		for name, kib := range cur {
			p.MaxKiB[name] = max(p.MaxKiB[name], kib)
		}
		p.TotalMaxKiB = max(p.TotalMaxKiB, total)
		p.Samples++
	}
}

// Phase returns the peaks since the previous call and starts anew.
func (s *RSSSampler) Phase() *RSSPeak {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.phase
	s.phase = RSSPeak{MaxKiB: map[string]int64{}}
	return &p
}

// Overall returns the peaks over every sample.
func (s *RSSSampler) Overall() *RSSPeak {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := RSSPeak{MaxKiB: map[string]int64{}, TotalMaxKiB: s.overall.TotalMaxKiB, Samples: s.overall.Samples}
	for k, v := range s.overall.MaxKiB {
		p.MaxKiB[k] = v
	}
	return &p
}

// Names returns the process names of p, sorted.
func (p *RSSPeak) Names() []string {
	out := make([]string, 0, len(p.MaxKiB))
	for k := range p.MaxKiB {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// VmRSS returns the resident set size of pid in KiB from /proc/<pid>/status.
func VmRSS(pid int) (int64, bool) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			fields := strings.Fields(v)
			if len(fields) == 0 {
				return 0, false
			}
			n, err := strconv.ParseInt(fields[0], 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}
