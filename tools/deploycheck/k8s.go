package main

import (
	"bytes"
	"encoding/json"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// VerticalPodAutoscaler is the part of autoscaling.k8s.io/v1 the manifests
// use (the CRD's Go types live in the autoscaler repository; decoding into
// this strict subset rejects any other field).
type VerticalPodAutoscaler struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		TargetRef    autoscalingv1.CrossVersionObjectReference `json:"targetRef"`
		UpdatePolicy *struct {
			UpdateMode  string `json:"updateMode,omitempty"`
			MinReplicas *int32 `json:"minReplicas,omitempty"`
		} `json:"updatePolicy,omitempty"`
		ResourcePolicy *struct {
			ContainerPolicies []struct {
				ContainerName       string              `json:"containerName"`
				Mode                string              `json:"mode,omitempty"`
				MinAllowed          corev1.ResourceList `json:"minAllowed,omitempty"`
				MaxAllowed          corev1.ResourceList `json:"maxAllowed,omitempty"`
				ControlledResources []string            `json:"controlledResources,omitempty"`
				ControlledValues    string              `json:"controlledValues,omitempty"`
			} `json:"containerPolicies,omitempty"`
		} `json:"resourcePolicy,omitempty"`
	} `json:"spec"`
}

// Objects are the decoded objects of one rendering.
type Objects struct {
	Namespaces   []*corev1.Namespace
	ConfigMaps   map[string]*corev1.ConfigMap
	Secrets      map[string]*corev1.Secret
	Services     []*corev1.Service
	Deployments  []*appsv1.Deployment
	StatefulSets []*appsv1.StatefulSet
	HPAs         []*autoscalingv2.HorizontalPodAutoscaler
	VPAs         []*VerticalPodAutoscaler
	PDBs         []*policyv1.PodDisruptionBudget
}

// Render builds a kustomization directory with the kustomize API (no
// kubectl needed) and returns the YAML stream.
func Render(dir string) ([]byte, error) {
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	m, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		return nil, err
	}
	return m.AsYaml()
}

// strictJSON decodes JSON into v, rejecting unknown fields.
func strictJSON(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	return d.Decode(v)
}

var docSep = regexp.MustCompile(`(?m)^---\s*$`)

// Decode decodes every document of a YAML stream strictly into its
// k8s.io/api type; unknown kinds and unknown fields are problems.
func Decode(stream []byte, where string, r *Report) *Objects {
	o := &Objects{ConfigMaps: map[string]*corev1.ConfigMap{}, Secrets: map[string]*corev1.Secret{}}
	for _, doc := range docSep.Split(string(stream), -1) {
		if strings.TrimSpace(doc) == "" {
			continue
		}
		j, err := yaml.YAMLToJSON([]byte(doc))
		if err != nil {
			r.Addf("yaml", where, "%v", err)
			continue
		}
		var tm metav1.TypeMeta
		var meta struct {
			Metadata metav1.ObjectMeta `json:"metadata"`
		}
		_ = json.Unmarshal(j, &tm)
		_ = json.Unmarshal(j, &meta)
		id := where + ": " + tm.Kind + "/" + meta.Metadata.Name
		var target any
		switch tm.APIVersion + " " + tm.Kind {
		case "v1 Namespace":
			v := &corev1.Namespace{}
			o.Namespaces, target = append(o.Namespaces, v), v
		case "v1 ConfigMap":
			v := &corev1.ConfigMap{}
			o.ConfigMaps[meta.Metadata.Name], target = v, v
		case "v1 Secret":
			v := &corev1.Secret{}
			o.Secrets[meta.Metadata.Name], target = v, v
		case "v1 Service":
			v := &corev1.Service{}
			o.Services, target = append(o.Services, v), v
		case "apps/v1 Deployment":
			v := &appsv1.Deployment{}
			o.Deployments, target = append(o.Deployments, v), v
		case "apps/v1 StatefulSet":
			v := &appsv1.StatefulSet{}
			o.StatefulSets, target = append(o.StatefulSets, v), v
		case "autoscaling/v2 HorizontalPodAutoscaler":
			v := &autoscalingv2.HorizontalPodAutoscaler{}
			o.HPAs, target = append(o.HPAs, v), v
		case "autoscaling.k8s.io/v1 VerticalPodAutoscaler":
			v := &VerticalPodAutoscaler{}
			o.VPAs, target = append(o.VPAs, v), v
		case "policy/v1 PodDisruptionBudget":
			v := &policyv1.PodDisruptionBudget{}
			o.PDBs, target = append(o.PDBs, v), v
		default:
			r.Addf("unknown-kind", id, "apiVersion %q kind %q is not one this check knows", tm.APIVersion, tm.Kind)
			continue
		}
		if err := strictJSON(j, target); err != nil {
			r.Addf("decode", id, "%v", err)
		}
	}
	return o
}

// CheckOptions say what differs between overlays.
type CheckOptions struct {
	// Production forbids example Secrets and unpinned images, and asks for
	// the guide's full autoscaling range.
	Production bool
	// ExternalSecrets are Secrets created out of band (name -> keys), used
	// when the rendering does not hold them.
	ExternalSecrets map[string]map[string]bool
}

// exampleAnnotation marks a Secret whose values are examples.
const exampleAnnotation = "altus4.dev/example-values"

// Guide values (scaling guide, "Kubernetes Auto-Scaling").
const (
	guideCPUUtilisation    = 70
	guideMemoryUtilisation = 80
	guideMinReplicas       = 3
	guideMaxReplicas       = 20
)

// CheckObjects checks the invariants of one rendered overlay.
func CheckObjects(o *Objects, f *Facts, opt CheckOptions, where string, r *Report) {
	if len(o.Deployments) == 0 {
		r.Addf("no-deployments", where, "the rendering holds no Deployment")
	}
	secretKeys := map[string]map[string]bool{}
	for name, keys := range opt.ExternalSecrets {
		secretKeys[name] = keys
	}
	for name, s := range o.Secrets {
		keys := map[string]bool{}
		for k := range s.Data {
			keys[k] = true
		}
		for k := range s.StringData {
			keys[k] = true
		}
		secretKeys[name] = keys
		if opt.Production && s.Annotations[exampleAnnotation] == "true" {
			r.Addf("example-secret", where+": Secret/"+name, "the production overlay ships a Secret of example values")
		}
	}
	seen := map[string]bool{}
	for _, d := range o.Deployments {
		id := where + ": Deployment/" + d.Name
		if seen[d.Name] {
			r.Addf("duplicate", id, "two Deployments of this name")
		}
		seen[d.Name] = true
		checkDeployment(d, o, f, opt, secretKeys, id, r)
	}
	for _, svc := range f.ServiceNames() {
		if !seen[svc] {
			r.Addf("missing-deployment", where, "no Deployment for the %s service", svc)
		}
	}
	for _, s := range o.StatefulSets {
		id := where + ": StatefulSet/" + s.Name
		for _, c := range s.Spec.Template.Spec.Containers {
			checkImage(c.Image, opt, id, r)
			checkEnvRefs(c, o, secretKeys, id, r)
		}
	}
	checkServices(o, where, r)
	checkAddresses(o, f, where, r)
	for _, h := range o.HPAs {
		if h.Spec.ScaleTargetRef.Kind != "Deployment" || !seen[h.Spec.ScaleTargetRef.Name] {
			r.Addf("hpa-target", where+": HorizontalPodAutoscaler/"+h.Name, "targets %s/%s, which is not a rendered Deployment", h.Spec.ScaleTargetRef.Kind, h.Spec.ScaleTargetRef.Name)
		}
	}
	for _, v := range o.VPAs {
		if v.Spec.TargetRef.Kind != "Deployment" || !seen[v.Spec.TargetRef.Name] {
			r.Addf("vpa-target", where+": VerticalPodAutoscaler/"+v.Name, "targets %s/%s, which is not a rendered Deployment", v.Spec.TargetRef.Kind, v.Spec.TargetRef.Name)
		}
	}
}

func checkDeployment(d *appsv1.Deployment, o *Objects, f *Facts, opt CheckOptions, secretKeys map[string]map[string]bool, id string, r *Report) {
	pod := d.Spec.Template.Spec
	tmplLabels := labels.Set(d.Spec.Template.Labels)
	if sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector); err != nil || sel.Empty() || !sel.Matches(tmplLabels) {
		r.Addf("selector", id, "the selector does not match the pod template's labels")
	}
	if len(pod.Containers) != 1 {
		r.Addf("containers", id, "expected one container, got %d", len(pod.Containers))
		return
	}
	c := pod.Containers[0]
	svc := f.Services[c.Name]
	if svc == nil {
		r.Addf("unknown-service", id, "container %q is not one of the suite's services %v", c.Name, f.ServiceNames())
		return
	}
	env := effectiveEnv(c, o)

	// Probes.
	if c.ReadinessProbe == nil || c.LivenessProbe == nil {
		r.Addf("probes", id, "container %s needs a readiness and a liveness probe", c.Name)
	}
	for kind, p := range map[string]*corev1.Probe{"readiness": c.ReadinessProbe, "liveness": c.LivenessProbe, "startup": c.StartupProbe} {
		if p == nil {
			continue
		}
		port, ok := probePort(p, c)
		if !ok {
			r.Addf("probe-port", id, "%s probe's port is not a port of container %s", kind, c.Name)
			continue
		}
		if svc.GRPC && kind != "startup" && (p.GRPC == nil || port != svc.ServePort) {
			r.Addf("probe-grpc", id, "%s probe must be a grpc probe on the gRPC port %d", kind, svc.ServePort)
		}
		if !svc.GRPC && kind == "readiness" && (p.HTTPGet == nil || p.HTTPGet.Path != "/health" || port != svc.ServePort) {
			r.Addf("probe-health", id, "the gateway's readiness probe must be GET /health on port %d", svc.ServePort)
		}
	}

	// Ports agree with the configuration and the service's defaults.
	ports := map[string]int32{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	serveName := "grpc"
	if !svc.GRPC {
		serveName = "http"
	}
	if got := ports[serveName]; int(got) != svc.ServePort {
		r.Addf("port", id, "container port %q is %d; the %s service serves on %d", serveName, got, svc.Name, svc.ServePort)
	}
	if got := ports["metrics"]; int(got) != svc.AdminPort {
		r.Addf("port", id, "container port \"metrics\" is %d; the admin port of %s is %d", got, svc.Name, svc.AdminPort)
	}
	if v, ok := env[svc.ServePortVar]; ok && v != strconv.Itoa(svc.ServePort) {
		r.Addf("port-env", id, "%s=%s but the container port is %d", svc.ServePortVar, v, svc.ServePort)
	}
	if v, ok := env["ALTUS_ADMIN_PORT"]; ok && v != strconv.Itoa(svc.AdminPort) {
		r.Addf("port-env", id, "ALTUS_ADMIN_PORT=%s but the metrics port is %d", v, svc.AdminPort)
	}
	ann := d.Spec.Template.Annotations
	if ann["prometheus.io/scrape"] != "true" || ann["prometheus.io/port"] != strconv.Itoa(svc.AdminPort) || ann["prometheus.io/path"] != "/metrics" {
		r.Addf("scrape", id, "pod template needs prometheus.io/scrape=true, port=%d, path=/metrics", svc.AdminPort)
	}

	// Environment: references resolve, and every variable is one the service reads.
	all := append([]corev1.Container{}, pod.InitContainers...)
	all = append(all, c)
	for _, cc := range all {
		checkEnvRefs(cc, o, secretKeys, id, r)
		checkResources(cc, id, r)
		checkImage(cc.Image, opt, id, r)
		for name := range effectiveEnvNames(cc, o, secretKeys) {
			if !f.KnownEnv(svc.Name, name) {
				r.Addf("env-unknown", id, "container %s gets %s, which the %s service does not read", cc.Name, name, svc.Name)
			}
		}
		sc := cc.SecurityContext
		if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
			sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
			sc.Capabilities == nil || len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL" {
			r.Addf("security", id, "container %s needs readOnlyRootFilesystem, no privilege escalation and capabilities drop ALL", cc.Name)
		}
	}
	if psc := pod.SecurityContext; psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser == 0 {
		r.Addf("security", id, "the pod must run as a non-root user (runAsNonRoot, runAsUser != 0)")
	}

	// Migrations: an init container `<svc> migrate` for the services that own tables.
	var migrateInit *corev1.Container
	for i, ic := range pod.InitContainers {
		if len(ic.Args) == 1 && ic.Args[0] == "migrate" {
			migrateInit = &pod.InitContainers[i]
		}
	}
	switch {
	case svc.Migrates && migrateInit == nil && env["ALTUS_MIGRATE"] == "false":
		r.Addf("migrate", id, "%s owns tables: run `%s migrate` in an init container or leave ALTUS_MIGRATE on", svc.Name, svc.Name)
	case svc.Migrates && migrateInit != nil:
		if migrateInit.Image != c.Image {
			r.Addf("migrate", id, "the migrate init container runs %s, the server %s", migrateInit.Image, c.Image)
		}
		if env["ALTUS_MIGRATE"] != "false" {
			r.Addf("migrate", id, "migrations run in the init container: set ALTUS_MIGRATE=false for the server")
		}
	case !svc.Migrates && migrateInit != nil:
		r.Addf("migrate", id, "%s has no migrate command", svc.Name)
	}

	// Shutdown: the grace period covers preStop, the drain and the stop.
	grace := int64(30)
	if pod.TerminationGracePeriodSeconds != nil {
		grace = *pod.TerminationGracePeriodSeconds
	}
	var preStop time.Duration
	if c.Lifecycle != nil && c.Lifecycle.PreStop != nil && c.Lifecycle.PreStop.Sleep != nil {
		preStop = time.Duration(c.Lifecycle.PreStop.Sleep.Seconds) * time.Second
	} else {
		r.Addf("prestop", id, "container %s needs a preStop sleep so that endpoint removal reaches clients before the drain", c.Name)
	}
	drain, stop := durationOr(env["ALTUS_DRAIN_DELAY"], 2*time.Second), durationOr(env["ALTUS_STOP_TIMEOUT"], 15*time.Second)
	if need := preStop + drain + stop; time.Duration(grace)*time.Second < need {
		r.Addf("grace", id, "terminationGracePeriodSeconds %d < preStop %s + ALTUS_DRAIN_DELAY %s + ALTUS_STOP_TIMEOUT %s", grace, preStop, drain, stop)
	}

	// A PodDisruptionBudget, a HorizontalPodAutoscaler and a VerticalPodAutoscaler.
	pdbs := 0
	for _, p := range o.PDBs {
		if sel, err := metav1.LabelSelectorAsSelector(p.Spec.Selector); err == nil && !sel.Empty() && sel.Matches(tmplLabels) {
			pdbs++
			if p.Spec.MinAvailable == nil && p.Spec.MaxUnavailable == nil {
				r.Addf("pdb", id, "PodDisruptionBudget/%s sets neither minAvailable nor maxUnavailable", p.Name)
			}
		}
	}
	if pdbs != 1 {
		r.Addf("pdb", id, "%d PodDisruptionBudgets select its pods; want exactly one", pdbs)
	}
	var hpa *autoscalingv2.HorizontalPodAutoscaler
	for _, h := range o.HPAs {
		if h.Spec.ScaleTargetRef.Kind == "Deployment" && h.Spec.ScaleTargetRef.Name == d.Name && h.Spec.ScaleTargetRef.APIVersion == "apps/v1" {
			if hpa != nil {
				r.Addf("hpa", id, "two HorizontalPodAutoscalers target it")
			}
			hpa = h
		}
	}
	if hpa == nil {
		r.Addf("hpa", id, "no HorizontalPodAutoscaler targets it")
	} else {
		checkHPA(hpa, opt, id, r)
	}
	vpas := 0
	for _, v := range o.VPAs {
		if v.Spec.TargetRef.Kind == "Deployment" && v.Spec.TargetRef.Name == d.Name {
			vpas++
			if v.Spec.UpdatePolicy != nil {
				switch v.Spec.UpdatePolicy.UpdateMode {
				case "", "Off", "Initial", "Recreate", "InPlaceOrRecreate", "Auto":
				default:
					r.Addf("vpa", id, "VerticalPodAutoscaler/%s: unknown updateMode %q", v.Name, v.Spec.UpdatePolicy.UpdateMode)
				}
			}
			if v.Spec.ResourcePolicy != nil {
				for _, cp := range v.Spec.ResourcePolicy.ContainerPolicies {
					if cp.ContainerName != "*" && cp.ContainerName != c.Name {
						r.Addf("vpa", id, "VerticalPodAutoscaler/%s names container %q, not %q", v.Name, cp.ContainerName, c.Name)
					}
				}
			}
		}
	}
	if vpas != 1 {
		r.Addf("vpa", id, "%d VerticalPodAutoscalers target it; want exactly one", vpas)
	}
	if d.Spec.Replicas != nil && hpa != nil {
		r.Addf("replicas", id, "replicas is set although a HorizontalPodAutoscaler owns them (every apply would reset the count)")
	}
}

func checkHPA(h *autoscalingv2.HorizontalPodAutoscaler, opt CheckOptions, id string, r *Report) {
	targets := map[corev1.ResourceName]int32{}
	for _, m := range h.Spec.Metrics {
		if m.Type == autoscalingv2.ResourceMetricSourceType && m.Resource != nil && m.Resource.Target.AverageUtilization != nil {
			targets[m.Resource.Name] = *m.Resource.Target.AverageUtilization
		}
	}
	if targets[corev1.ResourceCPU] != guideCPUUtilisation || targets[corev1.ResourceMemory] != guideMemoryUtilisation {
		r.Addf("hpa-targets", id, "HorizontalPodAutoscaler/%s must target CPU %d%% and memory %d%% utilisation (scaling guide)", h.Name, guideCPUUtilisation, guideMemoryUtilisation)
	}
	minR := int32(1)
	if h.Spec.MinReplicas != nil {
		minR = *h.Spec.MinReplicas
	}
	if minR > h.Spec.MaxReplicas {
		r.Addf("hpa-range", id, "HorizontalPodAutoscaler/%s: minReplicas %d > maxReplicas %d", h.Name, minR, h.Spec.MaxReplicas)
	}
	if opt.Production && (minR != guideMinReplicas || h.Spec.MaxReplicas != guideMaxReplicas) {
		r.Addf("hpa-range", id, "HorizontalPodAutoscaler/%s: production scales %d..%d, the guide %d..%d", h.Name, minR, h.Spec.MaxReplicas, guideMinReplicas, guideMaxReplicas)
	}
}

func durationOr(s string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(s); err == nil {
		return d
	}
	return def
}

func probePort(p *corev1.Probe, c corev1.Container) (int, bool) {
	var port intstr.IntOrString
	switch {
	case p.GRPC != nil:
		port = intstr.FromInt32(p.GRPC.Port)
	case p.HTTPGet != nil:
		port = p.HTTPGet.Port
	case p.TCPSocket != nil:
		port = p.TCPSocket.Port
	default:
		return 0, false
	}
	return containerPort(port, c)
}

// containerPort resolves a port (number or name) against c's ports.
func containerPort(port intstr.IntOrString, c corev1.Container) (int, bool) {
	for _, p := range c.Ports {
		if (port.Type == intstr.String && p.Name == port.StrVal) || (port.Type == intstr.Int && p.ContainerPort == port.IntVal) {
			return int(p.ContainerPort), true
		}
	}
	return 0, false
}

func checkResources(c corev1.Container, id string, r *Report) {
	for _, res := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		req, okReq := c.Resources.Requests[res]
		lim, okLim := c.Resources.Limits[res]
		if !okReq || !okLim {
			r.Addf("resources", id, "container %s needs a %s request and limit", c.Name, res)
			continue
		}
		if req.Cmp(lim) > 0 {
			r.Addf("resources", id, "container %s requests more %s (%s) than its limit (%s)", c.Name, res, req.String(), lim.String())
		}
	}
}

// checkImage: a tag is required, never latest; production pins every image.
func checkImage(image string, opt CheckOptions, id string, r *Report) {
	if strings.Contains(image, "@sha256:") {
		return
	}
	last := path.Base(image)
	name, tag, ok := strings.Cut(last, ":")
	_ = name
	if tag == "latest" {
		r.Addf("image-latest", id, "image %s uses the latest tag", image)
		return
	}
	if !ok && opt.Production {
		r.Addf("image-tag", id, "image %s has no tag or digest", image)
	}
}

// effectiveEnv returns the literal values a container's environment gets
// from its ConfigMaps and env entries (secrets are not resolved).
func effectiveEnv(c corev1.Container, o *Objects) map[string]string {
	env := map[string]string{}
	for _, ef := range c.EnvFrom {
		if ef.ConfigMapRef != nil {
			if cm := o.ConfigMaps[ef.ConfigMapRef.Name]; cm != nil {
				for k, v := range cm.Data {
					env[ef.Prefix+k] = v
				}
			}
		}
	}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			env[e.Name] = e.Value
		case e.ValueFrom.ConfigMapKeyRef != nil:
			if cm := o.ConfigMaps[e.ValueFrom.ConfigMapKeyRef.Name]; cm != nil {
				env[e.Name] = cm.Data[e.ValueFrom.ConfigMapKeyRef.Key]
			}
		}
	}
	return env
}

// effectiveEnvNames returns every variable name a container gets.
func effectiveEnvNames(c corev1.Container, o *Objects, secretKeys map[string]map[string]bool) map[string]bool {
	names := map[string]bool{}
	for _, ef := range c.EnvFrom {
		switch {
		case ef.ConfigMapRef != nil:
			if cm := o.ConfigMaps[ef.ConfigMapRef.Name]; cm != nil {
				for k := range cm.Data {
					names[ef.Prefix+k] = true
				}
			}
		case ef.SecretRef != nil:
			for k := range secretKeys[ef.SecretRef.Name] {
				names[ef.Prefix+k] = true
			}
		}
	}
	for _, e := range c.Env {
		names[e.Name] = true
	}
	return names
}

// checkEnvRefs: every ConfigMap, Secret and key a container refers to exists.
func checkEnvRefs(c corev1.Container, o *Objects, secretKeys map[string]map[string]bool, id string, r *Report) {
	optional := func(b *bool) bool { return b != nil && *b }
	for _, ef := range c.EnvFrom {
		switch {
		case ef.ConfigMapRef != nil:
			if o.ConfigMaps[ef.ConfigMapRef.Name] == nil && !optional(ef.ConfigMapRef.Optional) {
				r.Addf("env-ref", id, "container %s: envFrom ConfigMap %s does not exist", c.Name, ef.ConfigMapRef.Name)
			}
		case ef.SecretRef != nil:
			if secretKeys[ef.SecretRef.Name] == nil && !optional(ef.SecretRef.Optional) {
				r.Addf("env-ref", id, "container %s: envFrom Secret %s does not exist", c.Name, ef.SecretRef.Name)
			}
		}
	}
	for _, e := range c.Env {
		if e.ValueFrom == nil {
			continue
		}
		switch {
		case e.ValueFrom.ConfigMapKeyRef != nil:
			ref := e.ValueFrom.ConfigMapKeyRef
			cm := o.ConfigMaps[ref.Name]
			if _, ok := cm.Data[ref.Key]; (cm == nil || !ok) && !optional(ref.Optional) {
				r.Addf("env-ref", id, "container %s: %s refers to ConfigMap %s key %s, which does not exist", c.Name, e.Name, ref.Name, ref.Key)
			}
		case e.ValueFrom.SecretKeyRef != nil:
			ref := e.ValueFrom.SecretKeyRef
			if !secretKeys[ref.Name][ref.Key] && !optional(ref.Optional) {
				r.Addf("env-ref", id, "container %s: %s refers to Secret %s key %s, which does not exist", c.Name, e.Name, ref.Name, ref.Key)
			}
		}
	}
}

// checkServices: selectors select pods, target ports are container ports,
// and headless Services (no port mapping) use the container port itself.
func checkServices(o *Objects, where string, r *Report) {
	type podT struct {
		name   string
		labels labels.Set
		spec   corev1.PodSpec
	}
	var pods []podT
	for _, d := range o.Deployments {
		pods = append(pods, podT{"Deployment/" + d.Name, d.Spec.Template.Labels, d.Spec.Template.Spec})
	}
	for _, s := range o.StatefulSets {
		pods = append(pods, podT{"StatefulSet/" + s.Name, s.Spec.Template.Labels, s.Spec.Template.Spec})
	}
	for _, s := range o.Services {
		id := where + ": Service/" + s.Name
		sel := labels.SelectorFromSet(s.Spec.Selector)
		var matched []podT
		for _, p := range pods {
			if len(s.Spec.Selector) > 0 && sel.Matches(p.labels) {
				matched = append(matched, p)
			}
		}
		if len(matched) == 0 {
			r.Addf("service-selector", id, "selects no pod template")
			continue
		}
		headless := s.Spec.ClusterIP == corev1.ClusterIPNone
		for _, sp := range s.Spec.Ports {
			tp := sp.TargetPort
			if tp.Type == intstr.Int && tp.IntVal == 0 {
				tp = intstr.FromInt32(sp.Port)
			}
			for _, p := range matched {
				found := false
				for _, c := range p.spec.Containers {
					if n, ok := containerPort(tp, c); ok {
						found = true
						if headless && int32(n) != sp.Port {
							r.Addf("headless-port", id, "port %s is %d but %s listens on %d: a headless Service maps no ports", sp.Name, sp.Port, p.name, n)
						}
					}
				}
				if !found {
					r.Addf("service-port", id, "targetPort %s of port %s is not a container port of %s", tp.String(), sp.Name, p.name)
				}
			}
		}
	}
	// Every gRPC server is reachable through a headless Service (for
	// client-side round_robin over the pod addresses).
	for _, d := range o.Deployments {
		c := d.Spec.Template.Spec.Containers
		if len(c) == 0 {
			continue
		}
		if _, ok := containerPort(intstr.FromString("grpc"), c[0]); !ok {
			continue
		}
		ok := false
		for _, s := range o.Services {
			if s.Spec.ClusterIP == corev1.ClusterIPNone && len(s.Spec.Selector) > 0 && labels.SelectorFromSet(s.Spec.Selector).Matches(labels.Set(d.Spec.Template.Labels)) {
				ok = true
			}
		}
		if !ok {
			r.Addf("headless", where+": Deployment/"+d.Name, "no headless Service selects this gRPC server")
		}
	}
}

var dnsTarget = regexp.MustCompile(`^dns:///([a-z0-9-]+)(?:\.[a-z0-9.-]+)?:(\d+)$`)

// checkAddresses: the ALTUS_<SVC>_ADDR of every ConfigMap name a headless
// Service of that service, on its gRPC port, with the dns resolver.
func checkAddresses(o *Objects, f *Facts, where string, r *Report) {
	for name, cm := range o.ConfigMaps {
		for k, v := range cm.Data {
			svcName, ok := strings.CutSuffix(strings.TrimPrefix(k, "ALTUS_"), "_ADDR")
			if !ok || !strings.HasPrefix(k, "ALTUS_") {
				continue
			}
			svcName = strings.ToLower(svcName)
			id := where + ": ConfigMap/" + name
			svc := f.Services[svcName]
			if svc == nil {
				r.Addf("address", id, "%s names no service of the suite", k)
				continue
			}
			m := dnsTarget.FindStringSubmatch(v)
			if m == nil {
				r.Addf("address", id, "%s=%s: use dns:///<service>:<port> so that calls balance across pods", k, v)
				continue
			}
			if m[2] != strconv.Itoa(svc.ServePort) {
				r.Addf("address", id, "%s=%s: %s serves on %d", k, v, svcName, svc.ServePort)
			}
			found := false
			for _, s := range o.Services {
				if s.Name == m[1] && s.Spec.ClusterIP == corev1.ClusterIPNone {
					for _, p := range s.Spec.Ports {
						if strconv.Itoa(int(p.Port)) == m[2] {
							found = true
						}
					}
				}
			}
			if !found {
				r.Addf("address", id, "%s=%s: no headless Service %s with port %s", k, v, m[1], m[2])
			}
		}
	}
}

// CheckOverlays renders and checks base and every overlay under dir.
func CheckOverlays(f *Facts, k8sDir string, overlays []string, r *Report) {
	baseOut, err := Render(path.Join(k8sDir, "base"))
	if err != nil {
		r.Addf("render", "base", "%v", err)
		return
	}
	base := Decode(baseOut, "base", r)
	CheckObjects(base, f, CheckOptions{}, "base", r)
	// Secrets the base only gives examples of: production creates them out of band.
	external := map[string]map[string]bool{}
	for name, s := range base.Secrets {
		if s.Annotations[exampleAnnotation] == "true" {
			keys := map[string]bool{}
			for k := range s.StringData {
				keys[k] = true
			}
			for k := range s.Data {
				keys[k] = true
			}
			external[name] = keys
		}
	}
	for _, ov := range overlays {
		out, err := Render(path.Join(k8sDir, "overlays", ov))
		if err != nil {
			r.Addf("render", ov, "%v", err)
			continue
		}
		objs := Decode(out, ov, r)
		CheckObjects(objs, f, CheckOptions{Production: ov == "production", ExternalSecrets: external}, ov, r)
		if ov == "production" {
			CheckScrape(path.Join(path.Dir(k8sDir), "prometheus", "scrape.yaml"), objs, f, r)
		}
		r.Notef("k8s %s: %d objects (%d Deployments) rendered and checked", ov, countObjects(objs), len(objs.Deployments))
	}
}

func countObjects(o *Objects) int {
	return len(o.Namespaces) + len(o.ConfigMaps) + len(o.Secrets) + len(o.Services) + len(o.Deployments) +
		len(o.StatefulSets) + len(o.HPAs) + len(o.VPAs) + len(o.PDBs)
}
