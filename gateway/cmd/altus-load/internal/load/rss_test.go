package load

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

func TestRSSSamplerReadsThePidFilesProcesses(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("self.pid", strconv.Itoa(os.Getpid())+"\n")
	write("gone.pid", "999999999\n")
	write("junk.pid", "not a pid\n")
	write("notes.txt", strconv.Itoa(os.Getpid()))

	s := NewRSSSampler(dir, time.Hour)
	procs := s.Processes()
	if len(procs) != 1 || procs["self"] != os.Getpid() {
		t.Fatalf("processes = %v, want only self", procs)
	}
	s.Sample()
	s.Sample()
	p := s.Phase()
	if p.Samples != 2 || p.MaxKiB["self"] <= 0 || p.TotalMaxKiB != p.MaxKiB["self"] {
		t.Errorf("phase peak = %+v, want 2 samples and self's RSS as the total", p)
	}
	if next := s.Phase(); next.Samples != 0 || len(next.MaxKiB) != 0 {
		t.Errorf("a new phase starts empty; got %+v", next)
	}
	if all := s.Overall(); all.Samples != 2 || all.MaxKiB["self"] != p.MaxKiB["self"] {
		t.Errorf("overall = %+v, want the two samples", all)
	}
}

func TestVmRSSOfAMissingProcessIsNotOK(t *testing.T) {
	if _, ok := VmRSS(999999999); ok {
		t.Error("VmRSS of a missing pid reported a size")
	}
	if kib, ok := VmRSS(os.Getpid()); !ok || kib <= 0 {
		t.Errorf("VmRSS(self) = %d, %v; want a positive size", kib, ok)
	}
}
