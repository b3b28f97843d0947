// A minimal MCP Apps host for the browser tests: it loads the viewer in a sandboxed frame under a strict CSP,
// relays the viewer's tool calls to `window.hostCallTool` (which the test provides), and records everything
// the viewer asked of it in `window.hostLog`.

import { AppBridge, PostMessageTransport } from "@modelcontextprotocol/ext-apps/app-bridge";
import type { McpUiHostCapabilities, McpUiHostContext } from "@modelcontextprotocol/ext-apps/app-bridge";

// What a host derives from a resource that declares no domains: nothing from the network.
const STRICT_CSP = [
  "default-src 'none'",
  "script-src 'unsafe-inline'",
  "style-src 'unsafe-inline'",
  "img-src data: blob:",
  "font-src data:",
  "media-src data: blob:",
  "connect-src 'none'",
  "frame-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join("; ");

interface LogEntry {
  kind: string;
  params: unknown;
}

interface StartOptions {
  viewerHtml: string;
  hostContext?: McpUiHostContext;
  hostCapabilities?: McpUiHostCapabilities;
}

type CallTool = (name: string, args: unknown) => Promise<unknown>;

declare global {
  interface Window {
    hostLog: LogEntry[];
    hostCallTool?: CallTool;
    startHost: (options: StartOptions) => Promise<void>;
    sendToolInput: (args: Record<string, unknown>) => Promise<void>;
    sendToolResult: (result: Record<string, unknown>) => Promise<void>;
    sendHostContext: (context: McpUiHostContext) => Promise<void>;
  }
}

const DEFAULT_CAPABILITIES: McpUiHostCapabilities = {
  openLinks: {},
  downloadFile: {},
  serverTools: {},
  updateModelContext: { text: {} },
  logging: {},
};

window.hostLog = [];
let bridge: AppBridge | null = null;

function log(kind: string, params: unknown): void {
  window.hostLog.push({ kind, params: JSON.parse(JSON.stringify(params ?? null)) });
}

function withCsp(html: string): string {
  const meta = `<meta http-equiv="Content-Security-Policy" content="${STRICT_CSP}">`;
  return html.replace(/<head>/i, () => `<head>${meta}`);
}

function wire(next: AppBridge, frame: HTMLIFrameElement): void {
  next.oncalltool = async (params) => {
    log("calltool", { name: params.name, arguments: params.arguments ?? {} });
    if (!window.hostCallTool) throw new Error("this test host has no tool backend");
    return (await window.hostCallTool(params.name, params.arguments ?? {})) as never;
  };
  next.onopenlink = async (params) => {
    log("openlink", params);
    return {};
  };
  next.ondownloadfile = async (params) => {
    log("downloadfile", params);
    return {};
  };
  next.onupdatemodelcontext = async (params) => {
    log("updatemodelcontext", params);
    return {};
  };
  next.onmessage = async (params) => {
    log("message", params);
    return {};
  };
  next.onloggingmessage = (params) => log("log", params);
  next.onsizechange = (params) => {
    log("sizechange", params);
    if (typeof params.height === "number") frame.style.height = `${Math.ceil(params.height)}px`;
  };
}

window.startHost = async (options) => {
  const box = document.getElementById("frame-box");
  if (box === null) throw new Error("host page lacks #frame-box");
  const context: McpUiHostContext = { theme: "light", platform: "web", ...options.hostContext };
  document.body.classList.toggle("dark", context.theme === "dark");
  const frame = document.createElement("iframe");
  frame.title = "Image edit viewer";
  frame.setAttribute("sandbox", "allow-scripts");
  box.replaceChildren(frame);
  const capabilities = options.hostCapabilities ?? DEFAULT_CAPABILITIES;
  const next = new AppBridge(null, { name: "view-test-host", version: "1.0.0" }, capabilities, { hostContext: context });
  wire(next, frame);
  const initialized = new Promise<void>((resolve) => {
    next.oninitialized = () => {
      log("initialized", null);
      resolve();
    };
  });
  const target = frame.contentWindow;
  if (target === null) throw new Error("the frame has no window");
  // Connect first, then load the document: the viewer's first message must find the bridge listening.
  await next.connect(new PostMessageTransport(target, target));
  frame.srcdoc = withCsp(options.viewerHtml);
  bridge = next;
  await initialized;
};

function current(): AppBridge {
  if (bridge === null) throw new Error("startHost first");
  return bridge;
}

window.sendToolInput = (args) => current().sendToolInput({ arguments: args });
window.sendToolResult = (result) => current().sendToolResult(result as never);
window.sendHostContext = (context) => Promise.resolve(current().sendHostContextChange(context));
