// Images reach the view through the server's app-only tool preview_image, which answers with an ImageContent
// block sized for the view; a data: URI input is shown as it is. Nothing is loaded from the network.

import type { App } from "@modelcontextprotocol/ext-apps/app-with-deps";
import { showable } from "./contract";

export type ToolResult = Awaited<ReturnType<App["callServerTool"]>>;

export type Loaded = { ok: true; url: string; width: number | null; height: number | null } | { ok: false; why: string };

export function textOf(result: ToolResult): string {
  return result.content
    .flatMap((block) => (block.type === "text" ? [block.text] : []))
    .join("\n")
    .trim();
}

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function dimension(value: unknown, key: string): number | null {
  if (typeof value !== "object" || value === null) return null;
  const found = (value as Record<string, unknown>)[key];
  return typeof found === "number" && found > 0 ? found : null;
}

export class Previews {
  private readonly cache = new Map<string, Promise<Loaded>>();

  constructor(private readonly app: App) {}

  load(ref: string, maxSide: number): Promise<Loaded> {
    const shown = showable(ref);
    if (shown.kind === "none") return Promise.resolve({ ok: false, why: shown.why });
    if (shown.kind === "inline") return Promise.resolve({ ok: true, url: shown.url, width: null, height: null });
    const key = `${maxSide} ${shown.source}`;
    const cached = this.cache.get(key);
    if (cached !== undefined) return cached;
    const entry = this.request(shown.source, maxSide);
    this.cache.set(key, entry);
    // A failure is not kept: the next render asks again.
    void entry.then((loaded) => {
      if (!loaded.ok) this.cache.delete(key);
    });
    return entry;
  }

  private async request(source: string, maxSide: number): Promise<Loaded> {
    let result: ToolResult;
    try {
      result = await this.app.callServerTool({ name: "preview_image", arguments: { source, max_side: maxSide } });
    } catch (error) {
      return { ok: false, why: `the host could not fetch a preview (${errorText(error)})` };
    }
    if (result.isError) return { ok: false, why: textOf(result) || "the server could not read it" };
    for (const block of result.content) {
      if (block.type === "image" && block.data) {
        const width = dimension(result.structuredContent, "width");
        const height = dimension(result.structuredContent, "height");
        return { ok: true, url: `data:${block.mimeType};base64,${block.data}`, width, height };
      }
    }
    return { ok: false, why: "the server sent no image" };
  }
}
