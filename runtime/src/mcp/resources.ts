/**
 * Context blocks of the current resolution as MCP resources: `cra://<atlas ref>/<pack id>`
 * (e.g. `cra://default/github-ops@1.0.0/issues-guide`), MIME type from the block's content type.
 * URIs are looked up among the blocks, never parsed.
 */
import type { CARPResolution, ContextBlock } from '@cra/core';
import type { Resource } from '@modelcontextprotocol/sdk/types.js';

export const RESOURCE_SCHEME = 'cra';

export const MIME_TYPES: Record<ContextBlock['content_type'], string> = {
  markdown: 'text/markdown',
  json: 'application/json',
  yaml: 'application/yaml',
  text: 'text/plain',
};

export function resourceUri(block: Pick<ContextBlock, 'atlas_ref' | 'pack_ref'>): string {
  return `${RESOURCE_SCHEME}://${block.atlas_ref}/${block.pack_ref}`;
}

export function blockResource(block: ContextBlock): Resource {
  return {
    uri: resourceUri(block),
    name: block.pack_ref,
    title: `${block.pack_ref} (${block.atlas_ref})`,
    description: `Context for ${block.domain}${block.tags.length > 0 ? ` (${block.tags.join(', ')})` : ''}`,
    mimeType: MIME_TYPES[block.content_type],
    size: Buffer.byteLength(block.content, 'utf8'),
    _meta: {
      'cra.dev/block_id': block.block_id,
      'cra.dev/content_hash': block.content_hash,
      'cra.dev/domain': block.domain,
      'cra.dev/token_count': block.token_count,
    },
  };
}

export function blockResources(resolution: CARPResolution): Resource[] {
  return resolution.context_blocks.map(blockResource);
}

export function findBlock(resolution: CARPResolution, uri: string): ContextBlock | undefined {
  return resolution.context_blocks.find((b) => resourceUri(b) === uri);
}
