// The edits the view starts itself: "edit again", "new seed" and "more like this" all call edit_image through
// the host and then tell the model what happened (ui/update-model-context), as a courtesy.

import type { App } from "@modelcontextprotocol/ext-apps/app-with-deps";
import { fileNameOf, type Report } from "./contract";
import type { ToolResult } from "./previews";

export const MAX_SEED = 2_147_483_647;

export function randomSeed(): number {
  const buffer = new Uint32Array(1);
  crypto.getRandomValues(buffer);
  return buffer[0]! % (MAX_SEED + 1);
}

/** A first seed s in [0, MAX_SEED - count] such that none of s .. s + count - 1 is in `taken`. */
export function freshSeeds(count: number, taken: ReadonlySet<number>): number {
  const top = MAX_SEED - count;
  for (;;) {
    const seed = randomSeed() % (top + 1);
    let clash = false;
    for (let i = 0; i < count; i++) clash ||= taken.has(seed + i);
    if (!clash) return seed;
  }
}

/** edit_image with the given arguments; `onProgress` hears the server's progress messages while it waits. */
export function runEdit(
  app: App,
  args: Record<string, unknown>,
  onProgress: (message: string) => void,
): Promise<ToolResult> {
  // The server waits up to its wait_seconds (50 s by default) and then answers "pending"; progress keeps it alive.
  return app.callServerTool(
    { name: "edit_image", arguments: args },
    {
      timeout: 120_000,
      resetTimeoutOnProgress: true,
      onprogress: (progress) => {
        if (progress.message) onProgress(progress.message);
      },
    },
  );
}

/** What the model is told after "edit again" or "new seed". */
export function againText(prompt: string, report: Report): string {
  const outputs = report.outputs.length > 0 ? ` Result: ${report.outputs.join(" ")}` : "";
  const what = `prediction ${report.prediction_id}, status ${report.status}`;
  return `In the image viewer the user edited again with the prompt "${prompt}": ${what}.${outputs}`;
}

/** What the model is told after "more like this" (`like` names the variation it started from). */
export function moreText(count: number, like: string, prompt: string, report: Report): string {
  const each = (report.variations ?? []).map(
    (v) => `${v.prediction_id ?? "no job"} (seed ${v.seed}, ${v.status ?? v.error})`,
  );
  const jobs =
    each.length > 0 ? `predictions ${each.join(", ")}` : `prediction ${report.prediction_id}, status ${report.status}`;
  const outputs = report.outputs.length > 0 ? ` Results: ${report.outputs.join(" ")}` : "";
  const asked = `the user asked for ${count} more variations like ${like}, with the prompt "${prompt}"`;
  return `In the image viewer ${asked}: ${jobs}.${outputs}`;
}

export async function tellModel(app: App, text: string): Promise<void> {
  if (!app.getHostCapabilities()?.updateModelContext) return;
  try {
    await app.updateModelContext({ content: [{ type: "text", text }] });
  } catch {
    // The model's context is a courtesy; the user already sees the result.
  }
}

/** Ask the host to open a full-size image; false when it would not. */
export async function openLink(app: App, url: string): Promise<boolean> {
  const result = await app.openLink({ url }).catch(() => ({ isError: true }));
  return !result.isError;
}

/** Ask the host to download a full-size image; false when it would not. */
export async function download(app: App, url: string): Promise<boolean> {
  const contents = [{ type: "resource_link" as const, uri: url, name: fileNameOf(url) }];
  const result = await app.downloadFile({ contents }).catch(() => ({ isError: true }));
  return !result.isError;
}
