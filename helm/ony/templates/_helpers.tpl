{{/* Chart name, truncated to the 63 characters a DNS label allows. */}}
{{- define "ony.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Fully qualified app name: the release name, plus the chart name unless it already contains it. */}}
{{- define "ony.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "ony.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ony.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Selects the server pods only (the migrate Job's pod has component: migrate, so the Service never routes to it). */}}
{{- define "ony.serverSelectorLabels" -}}
{{ include "ony.selectorLabels" . }}
app.kubernetes.io/component: server
{{- end -}}

{{- define "ony.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "ony.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "ony.image" -}}
{{ printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end -}}

{{/* Environment shared by the server and the migrate Job (the Secret comes through envFrom). */}}
{{- define "ony.env" -}}
- name: ONY_PUBLIC_URL
  value: {{ required "env.publicUrl is required" .Values.env.publicUrl | quote }}
- name: ONY_PORT
  value: "8080"
- name: ONY_HOST
  value: "0.0.0.0"
- name: ONY_MIGRATE_ON_START
  value: "false"
{{- if .Values.database.allowPrivilegedLogin }}
- name: ONY_ALLOW_PRIVILEGED_DB_LOGIN
  value: "true"
{{- end }}
{{- range $name, $value := .Values.env.extra }}
- name: {{ $name }}
  value: {{ $value | quote }}
{{- end }}
{{- end -}}

{{- define "ony.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 1000
runAsGroup: 1000
fsGroup: 1000
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "ony.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: ["ALL"]
{{- end -}}
