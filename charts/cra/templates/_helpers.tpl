{{/*
Names, labels and shared values of the CRA chart.
*/}}

{{- define "cra.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Prefix of every object name: the release name, plus the chart name unless it already contains it. */}}
{{- define "cra.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "cra.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of every object the chart renders. */}}
{{- define "cra.labels" -}}
helm.sh/chart: {{ include "cra.chart" . }}
app.kubernetes.io/name: {{ include "cra.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: cra
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Selector labels of one component: pass (dict "ctx" $ "component" "operator"). */}}
{{- define "cra.selectorLabels" -}}
app.kubernetes.io/name: {{ include "cra.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* All labels of one component's objects. */}}
{{- define "cra.componentLabels" -}}
{{ include "cra.labels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "cra.operator.name" -}}
{{ include "cra.fullname" . }}-operator
{{- end }}

{{- define "cra.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "cra.operator.name" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "cra.leaseName" -}}
{{- default (include "cra.operator.name" .) .Values.operator.leaderElection.leaseName }}
{{- end }}

{{- define "cra.bundleConfigMapName" -}}
{{- default (printf "%s-runtime-bundle" (include "cra.fullname" .)) .Values.operator.bundleConfigMapName }}
{{- end }}

{{- define "cra.runtime.name" -}}
{{- default (printf "%s-runtime" (include "cra.fullname" .)) .Values.runtime.name }}
{{- end }}

{{/* repository:tag or repository@digest; pass (dict "image" .Values.x.image "ctx" $). */}}
{{- define "cra.image" -}}
{{- if .image.digest }}
{{- printf "%s@%s" .image.repository .image.digest }}
{{- else }}
{{- printf "%s:%s" .image.repository (default .ctx.Chart.AppVersion .image.tag) }}
{{- end }}
{{- end }}

{{/*
Labels of the runtime pods and Service. The operator sets them (operator/src/k8s/constants.ts and
operator/src/workload/runtime-objects.ts); the ServiceMonitor and the NetworkPolicies select on them.
*/}}
{{- define "cra.runtime.selectorLabels" -}}
app.kubernetes.io/name: cra
app.kubernetes.io/component: runtime
{{- end }}

{{- define "cra.postgres.enabled" -}}
{{- if or .Values.postgres.internal.enabled .Values.postgres.external.existingSecret }}true{{ end }}
{{- end }}

{{- define "cra.redis.enabled" -}}
{{- if or .Values.redis.internal.enabled .Values.redis.external.existingSecret }}true{{ end }}
{{- end }}

{{/* Name of the Secret holding CRA_POSTGRES_URL and/or CRA_REDIS_URL for the in-chart stores. */}}
{{- define "cra.storeUrls.name" -}}
{{ include "cra.fullname" . }}-store-urls
{{- end }}

{{/*
A password generated once per render and reused by every template that asks (memoised on .Values),
or the one already in the Secret from an earlier install. Pass (dict "ctx" $ "store" "postgres").
*/}}
{{- define "cra.storePassword" -}}
{{- $values := index .ctx.Values .store "internal" }}
{{- if $values.password }}
{{- $values.password }}
{{- else }}
{{- if not (hasKey $values "generatedPassword") }}
{{- $secret := lookup "v1" "Secret" .ctx.Release.Namespace (printf "%s-%s" (include "cra.fullname" .ctx) .store) }}
{{- $existing := "" }}
{{- if and $secret $secret.data }}
{{- $existing = index $secret.data "password" | default "" | b64dec }}
{{- end }}
{{- $_ := set $values "generatedPassword" (default (randAlphaNum 32) $existing) }}
{{- end }}
{{- $values.generatedPassword }}
{{- end }}
{{- end }}

{{/* Checks that cannot be expressed in values.schema.json. */}}
{{- define "cra.validate" -}}
{{- if and .Values.postgres.internal.enabled .Values.postgres.external.existingSecret }}
{{- fail "postgres: set either postgres.internal.enabled or postgres.external.existingSecret, not both" }}
{{- end }}
{{- if and .Values.redis.internal.enabled .Values.redis.external.existingSecret }}
{{- fail "redis: set either redis.internal.enabled or redis.external.existingSecret, not both" }}
{{- end }}
{{- if and .Values.runtime.enabled (or (gt (int .Values.runtime.replicas) 1) .Values.runtime.autoscaling.enabled) }}
{{- if not (and (include "cra.postgres.enabled" .) (include "cra.redis.enabled" .)) }}
{{- fail "runtime.replicas > 1 (or runtime.autoscaling.enabled) needs shared stores: configure postgres (external.existingSecret or internal.enabled) and redis (external.existingSecret or internal.enabled); with the embedded store every replica would keep its own sessions and traces" }}
{{- end }}
{{- end }}
{{- if gt (int .Values.runtime.autoscaling.minReplicas) (int .Values.runtime.autoscaling.maxReplicas) }}
{{- fail "runtime.autoscaling.minReplicas must not exceed runtime.autoscaling.maxReplicas" }}
{{- end }}
{{- $le := .Values.operator.leaderElection }}
{{- if $le.enabled }}
{{- if le (int $le.leaseDurationSeconds) (int $le.renewDeadlineSeconds) }}
{{- fail "operator.leaderElection.leaseDurationSeconds must be greater than renewDeadlineSeconds" }}
{{- end }}
{{- if le (mul (int $le.renewDeadlineSeconds) 10) (mul (int $le.retryPeriodSeconds) 12) }}
{{- fail "operator.leaderElection.renewDeadlineSeconds must be greater than 1.2 × retryPeriodSeconds" }}
{{- end }}
{{- else if gt (int .Values.operator.replicas) 1 }}
{{- fail "operator.replicas > 1 needs operator.leaderElection.enabled: two operators would both write the bundle" }}
{{- end }}
{{- if and (not .Values.serviceAccount.create) (not .Values.serviceAccount.name) }}
{{- fail "serviceAccount.name is required when serviceAccount.create is false" }}
{{- end }}
{{- end }}
