package load

import (
	"os"
	"sort"
	"strconv"
	"strings"
)

// clockTicks is USER_HZ, the unit of the CPU times in /proc/<pid>/stat
// (100 on every Linux architecture Go supports).
const clockTicks = 100

// CPUTime returns the user+system CPU seconds pid has used, from
// /proc/<pid>/stat.
func CPUTime(pid int) (float64, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	return parseStatCPU(string(b))
}

// parseStatCPU reads utime and stime (fields 14 and 15) of a stat line;
// the command name (field 2) is in parentheses and may hold spaces.
func parseStatCPU(stat string) (float64, bool) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(stat[i+1:])
	// f[0] is field 3 (state): utime is f[11], stime f[12].
	if len(f) < 13 {
		return 0, false
	}
	u, err1 := strconv.ParseUint(f[11], 10, 64)
	s, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return float64(u+s) / clockTicks, true
}

// CPUUse is the CPU time of the suite's processes over a step.
type CPUUse struct {
	// Seconds is each process's CPU seconds, by name.
	Seconds map[string]float64 `json:"seconds"`
	// MsPerRequest is each process's CPU milliseconds per request of the
	// step (successes and failures).
	MsPerRequest map[string]float64 `json:"msPerRequest,omitempty"`
	// TotalSeconds is the sum over the processes.
	TotalSeconds float64 `json:"totalSeconds"`
}

// CPUMeter reads the CPU times of the processes named by pid files.
type CPUMeter struct {
	dirs string
	last map[string]float64
}

// NewCPUMeter measures the processes of the pid files in dirs (a
// comma-separated list of folders) from now on.
func NewCPUMeter(dirs string) *CPUMeter {
	m := &CPUMeter{dirs: dirs}
	m.last = m.read()
	return m
}

func (m *CPUMeter) read() map[string]float64 {
	out := map[string]float64{}
	for name, pid := range PidFiles(m.dirs) {
		if s, ok := CPUTime(pid); ok {
			out[name] = s
		}
	}
	return out
}

// Step returns the CPU used since the previous call (or NewCPUMeter), with
// the per-request cost for requests made meanwhile.
func (m *CPUMeter) Step(requests int) *CPUUse {
	now := m.read()
	u := CPUDelta(m.last, now, requests)
	m.last = now
	return u
}

// CPUDelta is the CPU used between two readings by the processes in both
// (a process that restarted, whose time went down, is left out).
func CPUDelta(before, after map[string]float64, requests int) *CPUUse {
	u := &CPUUse{Seconds: map[string]float64{}}
	if requests > 0 {
		u.MsPerRequest = map[string]float64{}
	}
	for name, a := range after {
		b, ok := before[name]
		if !ok || a < b {
			continue
		}
		d := a - b
		u.Seconds[name] = round3(d)
		u.TotalSeconds += d
		if requests > 0 {
			u.MsPerRequest[name] = round3(d * 1000 / float64(requests))
		}
	}
	u.TotalSeconds = round3(u.TotalSeconds)
	return u
}

// Names returns the process names of u, sorted.
func (u *CPUUse) Names() []string {
	out := make([]string, 0, len(u.Seconds))
	for k := range u.Seconds {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
