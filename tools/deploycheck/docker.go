package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// dockerInstr is one instruction of a Dockerfile (continuations joined).
type dockerInstr struct {
	Cmd  string
	Args string
}

func parseDockerfile(b []byte) []dockerInstr {
	var out []dockerInstr
	var cur strings.Builder
	for _, line := range strings.Split(string(b), "\n") {
		t := strings.TrimSpace(line)
		if cur.Len() == 0 && (t == "" || strings.HasPrefix(t, "#")) {
			continue
		}
		if s, ok := strings.CutSuffix(t, "\\"); ok {
			cur.WriteString(s + " ")
			continue
		}
		cur.WriteString(t)
		cmd, args, _ := strings.Cut(cur.String(), " ")
		out = append(out, dockerInstr{strings.ToUpper(cmd), strings.TrimSpace(args)})
		cur.Reset()
	}
	return out
}

var goBuild = regexp.MustCompile(`go build .*-o (\S+) (\./\S+)$`)

// CheckDockerfiles checks deploy/docker/<svc>.Dockerfile of every service:
// it copies go.work and every workspace module's go.mod (the workspace
// needs them), the sources of pkg and of the service's module, builds the
// service's main package statically, and runs it as non-root on distroless.
func CheckDockerfiles(dir string, f *Facts, r *Report) {
	for _, name := range f.ServiceNames() {
		svc := f.Services[name]
		file := filepath.Join(dir, name+".Dockerfile")
		b, err := os.ReadFile(file)
		if err != nil {
			r.Addf("dockerfile", file, "%v", err)
			continue
		}
		CheckDockerfile(svc, file, b, f, r)
	}
	r.Notef("docker: %d Dockerfiles checked", len(f.Services))
}

// CheckDockerfile checks the Dockerfile content b of service svc.
func CheckDockerfile(svc *Service, file string, b []byte, f *Facts, r *Report) {
	name := svc.Name
	ins := parseDockerfile(b)
	copied := map[string]bool{}
	var froms []string
	var built, buildOut, user, entry string
	var finalCopy bool
	var expose []string
	stage := 0
	for _, in := range ins {
		switch in.Cmd {
		case "FROM":
			froms = append(froms, in.Args)
			stage++
			user, entry, expose = "", "", nil
		case "COPY":
			f := strings.Fields(in.Args)
			if len(f) > 0 && strings.HasPrefix(f[0], "--from=") {
				if stage > 1 && len(f) == 3 && f[1] == buildOut && f[2] == "/"+name {
					finalCopy = true
				}
				continue
			}
			for _, src := range f[:len(f)-1] {
				copied[strings.TrimSuffix(src, "/")] = true
			}
		case "RUN":
			if m := goBuild.FindStringSubmatch(in.Args); m != nil {
				buildOut, built = m[1], m[2]
			}
		case "USER":
			user = in.Args
		case "ENTRYPOINT":
			entry = in.Args
		case "EXPOSE":
			expose = strings.Fields(in.Args)
		}
	}
	if built != svc.Package {
		r.Addf("docker-build", file, "builds %q; the %s binary is built from %s", built, name, svc.Package)
	} else if main, err := os.ReadFile(filepath.Join(f.Root, svc.Package, "main.go")); err != nil || !strings.Contains(string(main), "package main") {
		r.Addf("docker-build", file, "%s is not a main package", svc.Package)
	}
	for _, need := range []string{"go.work", "go.work.sum", "pkg"} {
		if !copied[need] {
			r.Addf("docker-copy", file, "does not copy %s", need)
		}
	}
	for _, m := range f.Modules {
		if !copied[m+"/go.mod"] {
			r.Addf("docker-copy", file, "does not copy %s/go.mod, which go.work uses", m)
		}
	}
	if mod := strings.TrimPrefix(svc.Package, "./"); !copied[mod] {
		r.Addf("docker-copy", file, "does not copy the sources of %s", mod)
	}
	if len(froms) < 2 || !strings.HasPrefix(froms[len(froms)-1], "gcr.io/distroless/static") {
		r.Addf("docker-base", file, "the final stage must be gcr.io/distroless/static (multi-stage build)")
	}
	if !strings.Contains(strings.Join(ins2env(ins), " "), "CGO_ENABLED=0") {
		r.Addf("docker-static", file, "build with CGO_ENABLED=0 for distroless/static")
	}
	if user == "" || user == "root" || user == "0" || strings.HasPrefix(user, "0:") {
		r.Addf("security", file, "the final stage must set a non-root USER")
	}
	if !finalCopy {
		r.Addf("docker-copy", file, "the final stage must copy the built %s to /%s", buildOut, name)
	}
	if entry != `["/`+name+`"]` {
		r.Addf("docker-entry", file, "ENTRYPOINT must be [\"/%s\"]", name)
	}
	want := []string{strconv.Itoa(svc.ServePort), strconv.Itoa(svc.AdminPort)}
	if strings.Join(expose, " ") != strings.Join(want, " ") {
		r.Addf("docker-expose", file, "EXPOSE %v, want %v", expose, want)
	}
}

func ins2env(ins []dockerInstr) []string {
	var out []string
	for _, in := range ins {
		if in.Cmd == "ENV" || in.Cmd == "ARG" {
			out = append(out, in.Args)
		}
	}
	return out
}
