// This deployment's recent edits, from the server's app-only tool recent_edits (its job journal), as a strip
// of small pictures; choosing one shows that edit in the view. The strip loads when the user opens it, so a chat
// full of viewers does not ask the server each time one is shown; it disappears when the tool fails (an older
// server without it) or has nothing to list.

import { shortModel } from "./contract";
import type { ToolResult } from "./previews";

export interface RecentEdit {
  prediction_id: string;
  model: string | null;
  variant: string | null;
  created_at: string | null;
  outputs: string[];
  masked: boolean;
}

export interface RecentElements {
  section: HTMLElement;
  toggle: HTMLButtonElement;
  note: HTMLElement;
  list: HTMLElement;
}

export interface RecentHooks {
  /** recent_edits {limit}, through the host. */
  fetch: () => Promise<ToolResult>;
  thumb: (ref: string) => Promise<string | null>;
  choose: (predictionId: string) => void;
}

function text(value: unknown): string | null {
  return typeof value === "string" && value !== "" ? value : null;
}

/** The edits in recent_edits' structuredContent, newest first; null when it is not that shape. */
export function readRecent(value: unknown): RecentEdit[] | null {
  if (typeof value !== "object" || value === null) return null;
  const edits = (value as Record<string, unknown>)["edits"];
  if (!Array.isArray(edits)) return null;
  return edits.flatMap((item: unknown) => {
    if (typeof item !== "object" || item === null) return [];
    const obj = item as Record<string, unknown>;
    const id = text(obj["prediction_id"]);
    if (id === null) return [];
    const listed = Array.isArray(obj["outputs"]) ? obj["outputs"] : [];
    const outputs = listed.filter((o): o is string => typeof o === "string");
    const edit: RecentEdit = {
      prediction_id: id,
      model: text(obj["model"]),
      variant: text(obj["variant"]),
      created_at: text(obj["created_at"]),
      outputs,
      masked: obj["masked"] === true,
    };
    return [edit];
  });
}

function when(createdAt: string | null): string | null {
  if (createdAt === null) return null;
  const match = /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d)/.exec(createdAt);
  return match ? `${match[1]} ${match[2]}${createdAt.endsWith("Z") ? " UTC" : ""}` : createdAt;
}

function describe(edit: RecentEdit): string {
  const parts = [`Edit ${edit.prediction_id}`];
  const model = edit.variant ?? (edit.model ? shortModel(edit.model) : null);
  if (model !== null) parts.push(model);
  const time = when(edit.created_at);
  if (time !== null) parts.push(time);
  if (edit.masked) parts.push("masked");
  if (edit.outputs.length === 0) parts.push("no image yet");
  return parts.join(", ");
}

export class Recent {
  private open = false;
  private current: string | null = null;
  private buttons: Array<[string, HTMLButtonElement]> = [];
  private token = 0;

  constructor(
    private readonly el: RecentElements,
    private readonly hooks: RecentHooks,
  ) {
    el.toggle.addEventListener("click", () => {
      this.open = !this.open;
      el.toggle.setAttribute("aria-expanded", String(this.open));
      el.list.hidden = !this.open;
      el.note.hidden = true;
      if (this.open) void this.load();
    });
  }

  /** The edit the view shows now, marked in the strip. */
  setCurrent(predictionId: string | null): void {
    this.current = predictionId;
    for (const [id, button] of this.buttons) button.setAttribute("aria-pressed", String(id === predictionId));
  }

  /** Load again when open: the view made another edit. */
  refresh(): void {
    if (this.open) void this.load();
  }

  private async load(): Promise<void> {
    const token = ++this.token;
    if (this.buttons.length === 0) this.showNote("Loading the recent edits");
    let edits: RecentEdit[] | null = null;
    try {
      const result = await this.hooks.fetch();
      edits = result.isError ? null : readRecent(result.structuredContent);
    } catch {
      edits = null;
    }
    if (token !== this.token) return;
    if (edits === null || edits.length === 0) {
      // An older server, a tool error, or nothing yet: no strip.
      this.el.section.hidden = true;
      return;
    }
    this.el.note.hidden = true;
    this.buttons = edits.map((edit) => [edit.prediction_id, this.item(edit)]);
    this.el.list.replaceChildren(
      ...this.buttons.map(([, button]) => {
        const li = document.createElement("li");
        li.append(button);
        return li;
      }),
    );
    this.setCurrent(this.current);
  }

  private showNote(message: string): void {
    this.el.note.hidden = false;
    this.el.note.textContent = message;
  }

  private item(edit: RecentEdit): HTMLButtonElement {
    const button = document.createElement("button");
    button.type = "button";
    const label = describe(edit);
    button.setAttribute("aria-label", label);
    button.title = label;
    button.addEventListener("click", () => this.hooks.choose(edit.prediction_id));
    const none = document.createElement("span");
    none.className = "none";
    none.textContent = `${edit.prediction_id.slice(0, 8)}${edit.outputs.length === 0 ? " · no image yet" : ""}`;
    button.append(none);
    const ref = edit.outputs[0];
    if (ref !== undefined) {
      void this.hooks.thumb(ref).then((url) => {
        if (url === null) return;
        const img = document.createElement("img");
        img.src = url;
        img.alt = "";
        button.replaceChildren(img);
      });
    }
    return button;
  }
}
