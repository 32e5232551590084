import type { FastifyInstance } from 'fastify';
import type { Cra } from '../domain/cra.js';
import { mayUseAtlas } from '@cra/core';
import { errors } from './schemas.js';

export function atlasRoutes(app: FastifyInstance, cra: Cra): void {
  app.get(
    '/v1/atlases',
    {
      schema: {
        tags: ['atlases'],
        summary: 'Atlases this caller may use in the bundle being served',
        response: {
          200: {
            type: 'object',
            required: ['bundle_version', 'atlases'],
            properties: {
              bundle_version: { type: 'string' },
              atlases: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    ref: { type: 'string' },
                    name: { type: 'string' },
                    namespace: { type: 'string' },
                    version: { type: 'string' },
                    description: { type: 'string' },
                    keywords: { type: 'array', items: { type: 'string' } },
                    license: { type: 'object', additionalProperties: true },
                    domains: { type: 'array', items: { type: 'object', additionalProperties: true } },
                    context_packs: { type: 'array', items: { type: 'object', additionalProperties: true } },
                    actions: { type: 'array', items: { type: 'object', additionalProperties: true } },
                  },
                },
              },
            },
          },
          ...errors(401),
        },
      },
    },
    async (request) => {
      const index = cra.bundles.current;
      return {
        bundle_version: index.version,
        atlases: index.atlases
          .filter((a) => mayUseAtlas(a, request.principal) === undefined)
          .map(({ atlas, packs, actions }) => ({
            ref: atlas.ref,
            name: atlas.name,
            namespace: atlas.namespace,
            version: atlas.spec.version,
            ...(atlas.spec.description ? { description: atlas.spec.description } : {}),
            keywords: atlas.spec.keywords ?? [],
            ...(atlas.spec.license ? { license: atlas.spec.license } : {}),
            domains: atlas.spec.domains,
            context_packs: packs.map((p) => ({
              id: p.id,
              domain: p.domain,
              tokens: p.tokens,
              ttl_seconds: p.ttlSeconds,
              content_hash: p.contentHash,
            })),
            actions: actions.map((a) => ({
              id: a.id,
              type: a.type,
              name: a.name,
              domain: a.domain,
              risk_tier: a.riskTier,
            })),
          })),
      };
    },
  );
}
