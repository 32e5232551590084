/**
 * The OpenTelemetry SDK for this process: a tracer provider (so CARP operations get real span
 * ids, which TRACE reuses), async context propagation, and an OTLP/HTTP exporter when the
 * standard OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT variable is set. Metrics stay in prom-client.
 */
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchSpanProcessor,
  SimpleSpanProcessor,
  TracerProvider,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace';
import { COMPONENT, VERSION } from '../version.js';

export interface Tracing {
  shutdown(): Promise<void>;
}

export interface TracingOptions {
  env?: Record<string, string | undefined>;
  instanceId?: string;
  /** Export synchronously to this exporter (tests); otherwise OTLP when configured by env. */
  exporter?: SpanExporter;
}

export function startTracing(options: TracingOptions = {}): Tracing {
  const env = options.env ?? process.env;
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  const spanProcessors: SpanProcessor[] = [];
  if (options.exporter) spanProcessors.push(new SimpleSpanProcessor({ exporter: options.exporter }));
  else if (env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) {
    spanProcessors.push(new BatchSpanProcessor({ exporter: new OTLPTraceExporter() }));
  }
  const provider = new TracerProvider({
    resource: resourceFromAttributes({
      'service.name': env.OTEL_SERVICE_NAME ?? COMPONENT,
      'service.version': VERSION,
      ...(options.instanceId ? { 'service.instance.id': options.instanceId } : {}),
    }),
    spanProcessors,
  });
  trace.setGlobalTracerProvider(provider);
  return {
    async shutdown() {
      await provider.shutdown();
      trace.disable();
      context.disable();
    },
  };
}
