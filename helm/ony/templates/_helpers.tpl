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

{{/* Selects the server pods only (the Jobs' pods have their own component, so the Service never routes to them). */}}
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

{{- define "ony.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "ony.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The Secret the server reads: the operator's own, or the one this chart creates. */}}
{{- define "ony.runtimeSecretName" -}}
{{- default (include "ony.fullname" .) .Values.secrets.runtime.existingSecret -}}
{{- end -}}

{{/* The owner credential's Secret; empty when there is none (the Job then migrates with DATABASE_URL). */}}
{{- define "ony.migrateSecretName" -}}
{{- if .Values.secrets.migrate.existingSecret -}}
{{- .Values.secrets.migrate.existingSecret -}}
{{- else if .Values.secrets.migrate.values.ONY_MIGRATE_DATABASE_URL -}}
{{- printf "%s-migrate" (include "ony.fullname" .) -}}
{{- end -}}
{{- end -}}

{{/* Environment shared by the server and the Jobs (the Secrets come through envFrom). */}}
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

{{/* Pod settings every workload of the chart shares: pull secrets, identity, security, placement. */}}
{{- define "ony.podCommon" -}}
automountServiceAccountToken: false
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- end -}}

{{/* The root filesystem is read-only: /tmp is the one writable place. */}}
{{- define "ony.tmpVolume" -}}
volumes:
  - name: tmp
    emptyDir: {}
{{- end -}}

{{- define "ony.tmpMount" -}}
volumeMounts:
  - name: tmp
    mountPath: /tmp
{{- end -}}

{{/* NetworkPolicy egress every pod of the release needs: DNS, the database, Redis, the providers. An empty `to` means any address on that port. */}}
{{- define "ony.egressRules" -}}
{{- $e := .Values.networkPolicy.egress -}}
- ports:
    - { protocol: UDP, port: 53 }
    - { protocol: TCP, port: 53 }
  {{- with $e.dns.to }}
  to:
    {{- toYaml . | nindent 4 }}
  {{- end }}
- ports:
    - { protocol: TCP, port: {{ $e.database.port }} }
  {{- with $e.database.to }}
  to:
    {{- toYaml . | nindent 4 }}
  {{- end }}
- ports:
    - { protocol: TCP, port: {{ $e.redis.port }} }
  {{- with $e.redis.to }}
  to:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- if $e.providers.enabled }}
- to:
    {{- range $e.providers.cidrs }}
    - ipBlock: { cidr: {{ . | quote }} }
    {{- end }}
  ports:
    {{- range $e.providers.ports }}
    - { protocol: TCP, port: {{ . }} }
    {{- end }}
{{- end }}
{{- with $e.extra }}
{{ toYaml . }}
{{- end }}
{{- end }}
