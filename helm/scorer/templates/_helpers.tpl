{{- define "scorer.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "scorer.fullname" -}}
{{- if contains .Chart.Name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{- define "scorer.selectorLabels" -}}
app.kubernetes.io/name: {{ include "scorer.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "scorer.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "scorer.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "scorer.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "scorer.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "scorer.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{/* The Secret holding credentials: the user's own, or the one this chart makes. */}}
{{- define "scorer.authSecret" -}}
{{- default (printf "%s-auth" (include "scorer.fullname" .)) .Values.auth.existingSecret }}
{{- end }}

{{- define "scorer.licenseSecret" -}}
{{- default (printf "%s-dai-license" (include "scorer.fullname" .)) .Values.driverlessAiLicense.existingSecret }}
{{- end }}

{{- define "scorer.pvcName" -}}
{{- default (printf "%s-model" (include "scorer.fullname" .)) .Values.model.pvc.existingClaim }}
{{- end }}

{{/*
The deployments file as YAML text, whether the values give it as text or as a mapping.
*/}}
{{- define "scorer.deploymentsFile" -}}
{{- if kindIs "string" .Values.deployments.file -}}
{{ .Values.deployments.file }}
{{- else -}}
{{ toYaml .Values.deployments.file }}
{{- end -}}
{{- end }}
