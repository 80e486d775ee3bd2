package main

import (
	"fmt"
	"net"
	"os"
	"regexp"
	"strconv"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/relabel"
	"go.yaml.in/yaml/v3"
)

// scrapeFile is the part of prometheus.yml that scrape.yaml holds, decoded
// strictly; relabel rules use Prometheus' own type and validation.
type scrapeFile struct {
	ScrapeConfigs []struct {
		JobName             string `yaml:"job_name"`
		ScrapeInterval      string `yaml:"scrape_interval,omitempty"`
		KubernetesSDConfigs []struct {
			Role string `yaml:"role"`
		} `yaml:"kubernetes_sd_configs,omitempty"`
		StaticConfigs []struct {
			Targets []string          `yaml:"targets"`
			Labels  map[string]string `yaml:"labels,omitempty"`
		} `yaml:"static_configs,omitempty"`
		RelabelConfigs []*relabel.Config `yaml:"relabel_configs,omitempty"`
	} `yaml:"scrape_configs"`
}

var metaName = regexp.MustCompile(`[^a-zA-Z0-9_]`)

// CheckScrape validates scrape.yaml and replays its relabelling, as
// Prometheus would, on the targets the rendered Deployments produce (one per
// container port, with the pod's labels and annotations) and on its static
// targets: each service's admin port must be scraped, at /metrics, as
// job="altus" with its service label, and no other port.
func CheckScrape(file string, o *Objects, f *Facts, r *Report) {
	b, err := os.ReadFile(file)
	if err != nil {
		r.Addf("read", file, "%v", err)
		return
	}
	CheckScrapeBytes(file, b, o, f, r)
}

// CheckScrapeBytes checks scrape configuration content b as if it were file.
func CheckScrapeBytes(file string, b []byte, o *Objects, f *Facts, r *Report) {
	var sf scrapeFile
	dec := yaml.NewDecoder(bytesReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&sf); err != nil {
		r.Addf("scrape-config", file, "%v", err)
		return
	}
	scraped := map[string]int{}
	for _, sc := range sf.ScrapeConfigs {
		id := file + ": " + sc.JobName
		for _, rc := range sc.RelabelConfigs {
			if err := rc.Validate(model.LegacyValidation); err != nil {
				r.Addf("scrape-config", id, "%v", err)
				return
			}
		}
		apply := func(in map[string]string) (labels.Labels, bool) {
			lb := labels.NewBuilder(labels.FromMap(in))
			lb.Set(model.JobLabel, sc.JobName)
			if lb.Get(model.MetricsPathLabel) == "" {
				lb.Set(model.MetricsPathLabel, "/metrics")
			}
			keep := relabel.ProcessBuilder(lb, sc.RelabelConfigs...)
			return lb.Labels(), keep
		}
		verify := func(ls labels.Labels, what string) {
			svc := f.Services[ls.Get("service")]
			_, port, _ := net.SplitHostPort(ls.Get(model.AddressLabel))
			switch {
			case ls.Get(model.JobLabel) != "altus":
				r.Addf("scrape-target", id, "%s is scraped as job=%q, not altus", what, ls.Get(model.JobLabel))
			case svc == nil:
				r.Addf("scrape-target", id, "%s is scraped with service=%q, not a service of the suite", what, ls.Get("service"))
			case port != strconv.Itoa(svc.AdminPort) || ls.Get(model.MetricsPathLabel) != "/metrics":
				r.Addf("scrape-target", id, "%s is scraped at %s%s; %s serves /metrics on %d", what, ls.Get(model.AddressLabel), ls.Get(model.MetricsPathLabel), svc.Name, svc.AdminPort)
			default:
				scraped[svc.Name]++
			}
		}
		if len(sc.KubernetesSDConfigs) > 0 {
			for _, d := range o.Deployments {
				tmpl := d.Spec.Template
				for _, c := range tmpl.Spec.Containers {
					for _, p := range c.Ports {
						in := map[string]string{model.AddressLabel: fmt.Sprintf("10.0.0.1:%d", p.ContainerPort),
							"__meta_kubernetes_namespace": "altus", "__meta_kubernetes_pod_name": d.Name + "-0"}
						for k, v := range tmpl.Labels {
							in["__meta_kubernetes_pod_label_"+metaName.ReplaceAllString(k, "_")] = v
						}
						for k, v := range tmpl.Annotations {
							in["__meta_kubernetes_pod_annotation_"+metaName.ReplaceAllString(k, "_")] = v
						}
						if ls, keep := apply(in); keep {
							verify(ls, fmt.Sprintf("Deployment/%s port %s", d.Name, p.Name))
						}
					}
				}
			}
		}
		for _, st := range sc.StaticConfigs {
			for _, t := range st.Targets {
				in := map[string]string{model.AddressLabel: t}
				for k, v := range st.Labels {
					in[k] = v
				}
				if ls, keep := apply(in); keep {
					verify(ls, "static target "+t)
				}
			}
		}
	}
	for _, name := range f.ServiceNames() {
		if scraped[name] < 2 {
			r.Addf("scrape-target", file, "%s is scraped by %d of the 2 configurations (Kubernetes pods, static)", name, scraped[name])
		}
	}
	r.Notef("prometheus %s: relabelling replayed on the production pods and the static targets", file)
}
