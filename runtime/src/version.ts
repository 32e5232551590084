/** The runtime's version, reported in TRACE `source.version`, OpenAPI and /v1/stats. */
export const VERSION = '1.0.0';
export const COMPONENT = 'cra-runtime';
