package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// CheckLoadBalancers checks the nginx and HAProxy configurations: every
// service's port appears as a listener and as upstream servers, and, when
// the binaries are installed, `nginx -t` and `haproxy -c` accept them (with
// a throw-away certificate in place of the real one).
func CheckLoadBalancers(root string, f *Facts, runTools bool, r *Report) {
	nginxFile := filepath.Join(root, "deploy", "nginx", "nginx.conf")
	haproxyFile := filepath.Join(root, "deploy", "haproxy", "haproxy.cfg")
	nginx, err1 := os.ReadFile(nginxFile)
	haproxy, err2 := os.ReadFile(haproxyFile)
	if err1 != nil || err2 != nil {
		r.Addf("read", "deploy/nginx, deploy/haproxy", "%v %v", err1, err2)
		return
	}
	CheckLoadBalancerConfigs(nginxFile, nginx, haproxyFile, haproxy, f, runTools, r)
}

// CheckLoadBalancerConfigs checks nginx and HAProxy configuration contents.
func CheckLoadBalancerConfigs(nginxFile string, nginx []byte, haproxyFile string, haproxy []byte, f *Facts, runTools bool, r *Report) {
	for _, name := range f.ServiceNames() {
		svc := f.Services[name]
		port := fmt.Sprint(svc.ServePort)
		server := regexp.MustCompile(`(?m)^\s*server\s+(?:\S+\s+)?[0-9a-z.-]+:` + port + `\b`)
		if !server.Match(nginx) {
			r.Addf("lb-port", nginxFile, "no upstream server on the %s port %s", name, port)
		}
		if !server.Match(haproxy) {
			r.Addf("lb-port", haproxyFile, "no server on the %s port %s", name, port)
		}
		if svc.GRPC {
			if !regexp.MustCompile(`(?m)^\s*listen\s+` + port + `\s+http2;`).Match(nginx) {
				r.Addf("lb-grpc", nginxFile, "no HTTP/2 listener on %s for %s", port, name)
			}
			if !regexp.MustCompile(`(?m)^\s*bind\s+\S*:` + port + `\s+proto h2`).Match(haproxy) {
				r.Addf("lb-grpc", haproxyFile, "no HTTP/2 frontend on %s for %s", port, name)
			}
			if !regexp.MustCompile(`grpc_pass grpc://altus_` + name + `;`).Match(nginx) {
				r.Addf("lb-grpc", nginxFile, "no grpc_pass to the %s upstream", name)
			}
		}
	}
	if !strings.Contains(string(haproxy), "option httpchk GET /health") {
		r.Addf("lb-health", haproxyFile, "the gateway backend must check GET /health")
	}
	if !strings.Contains(string(nginx), "least_conn;") || !strings.Contains(string(haproxy), "balance leastconn") {
		r.Addf("lb-balance", "deploy/nginx, deploy/haproxy", "the gateway upstream balances least connections (scaling guide)")
	}
	if !runTools {
		return
	}
	dir, err := os.MkdirTemp("", "deploycheck-lb-")
	if err != nil {
		r.Addf("tmp", "lb", "%v", err)
		return
	}
	defer os.RemoveAll(dir)
	crt, key, err := selfSigned()
	if err != nil {
		r.Addf("tmp", "lb", "%v", err)
		return
	}
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			r.Addf("tmp", "lb", "%v", err)
		}
		return p
	}
	write("altus4.crt", crt)
	write("altus4.key", key)
	write("altus4.pem", append(append([]byte{}, crt...), key...))
	if bin, err := exec.LookPath("nginx"); err == nil {
		conf := write("nginx.conf", []byte(strings.ReplaceAll(string(nginx), "/etc/nginx/tls/", dir+"/")))
		out, err := exec.Command(bin, "-t", "-q", "-c", conf).CombinedOutput()
		if err != nil {
			r.Addf("nginx-t", nginxFile, "nginx -t failed: %v\n%s", err, out)
		} else {
			r.Notef("nginx: %s accepted by `nginx -t` (%s)", nginxFile, version(bin, "-v"))
		}
	} else {
		r.Notef("nginx: not installed, `nginx -t` skipped (apt-get install nginx to run it)")
	}
	if bin, err := exec.LookPath("haproxy"); err == nil {
		conf := write("haproxy.cfg", []byte(strings.ReplaceAll(string(haproxy), "/etc/ssl/certs/altus4.pem", dir+"/altus4.pem")))
		out, err := exec.Command(bin, "-c", "-q", "-f", conf).CombinedOutput()
		if err != nil {
			r.Addf("haproxy-c", haproxyFile, "haproxy -c failed: %v\n%s", err, out)
		} else {
			r.Notef("haproxy: %s accepted by `haproxy -c` (%s)", haproxyFile, version(bin, "-v"))
		}
	} else {
		r.Notef("haproxy: not installed, `haproxy -c` skipped (apt-get install haproxy to run it)")
	}
}

func version(bin, flag string) string {
	out, _ := exec.Command(bin, flag).CombinedOutput()
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return line
}

// selfSigned returns a throw-away certificate and key (PEM) for config tests.
func selfSigned() (crt, key []byte, err error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "deploycheck.invalid"},
		DNSNames:     []string{"deploycheck.invalid"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		return nil, nil, err
	}
	kb, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), nil
}
