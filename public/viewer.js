// Attesta PDF viewer: <attesta-pdf src="/documents/ID/file" data-page-label="Page">
//
// Built on pdfjs-dist 6.5.438, served from /vendor/pdfjs/. Works under
//   script-src 'self' 'wasm-unsafe-eval'  (worker-src falls back to it)
// with no inline <script>, no eval and no <style> element: styles go through a
// constructable stylesheet (document.adoptedStyleSheets) and element.style.
//
// Attributes
//   src               URL of the PDF (same-origin; cookies are sent)
//   data-page-label   word used for "Page 3 of 12" (default "Page")
//   data-of-label     word used for "of"            (default "of")
//   render-all        render every page up front and never release canvases
//   no-text-layer     skip the selectable text layer
//   slots             render into page boxes the page already has: descendants with
//                     data-pdf-slot="N" (1-based), sized by their owner (aspect ratio of
//                     the page as shown). The element's own children are left alone, so an
//                     app can lay fields over each page. Loading waits a frame for the slots.
// Properties
//   pdfData           a Uint8Array of the PDF, instead of src: the exact bytes the caller
//                     hashed are the bytes shown (setting it (re)loads)
// State for tests
//   data-state="loading|ready|error", data-pages, data-rendered-pages (pages
//   painted at least once), data-page-errors; each page box has
//   data-page="N" and data-rendered="true|false".
// Events (bubbling, composed)
//   attesta-pdf:loaded       {pages}
//   attesta-pdf:first-page   {ms}          ms from connectedCallback to page 1 painted
//   attesta-pdf:page-rendered {page, ms, width, height}
//   attesta-pdf:error        {message, page?}

import {
  getDocument,
  GlobalWorkerOptions,
  TextLayer,
  PasswordException,
  InvalidPDFException,
  ResponseException,
  RenderingCancelledException,
} from "/vendor/pdfjs/pdf.min.mjs";

const VENDOR = "/vendor/pdfjs/";
GlobalWorkerOptions.workerSrc = VENDOR + "pdf.worker.min.mjs";
// The worker (the biggest file pdf.js has) starts loading as soon as this module runs, beside
// the PDF and the app's client, not once the first document is opened. One worker serves every
// document of the page (pdf.js keeps a port-based worker across documents).
try {
  GlobalWorkerOptions.workerPort = new Worker(GlobalWorkerOptions.workerSrc, { type: "module" });
} catch {
  // No module workers: pdf.js makes its own worker (or runs in the page) when a document opens.
}

const MAX_DPR = 2; // cap backing-store scale for memory
const MAX_CANVAS_PIXELS = 16 * 1024 * 1024; // per page canvas
const RESIZE_DEBOUNCE_MS = 150;
const KEEP_ALL_BELOW = 12; // docs with fewer pages never release canvases
const BG_SIZE_LIMIT = 300; // resolve all page sizes in background up to this many pages

const CSS = `
attesta-pdf{display:block;position:relative;min-height:4rem}
attesta-pdf .ap-pages{display:flex;flex-direction:column;gap:12px}
attesta-pdf .ap-page{position:relative;width:100%;background:#fff;box-shadow:0 1px 3px rgba(0,0,0,.3);overflow:hidden}
attesta-pdf .ap-page[data-rendered="false"]{background:#f1f1f1}
attesta-pdf .ap-page>canvas{position:absolute;left:0;top:0;width:100%;height:100%;display:block}
attesta-pdf .ap-label{position:absolute;right:6px;bottom:6px;z-index:3;font:12px/1.3 system-ui,sans-serif;color:#333;background:rgba(255,255,255,.85);border:1px solid rgba(0,0,0,.12);padding:1px 7px;border-radius:10px;pointer-events:none;user-select:none}
attesta-pdf .ap-status{font:14px/1.4 system-ui,sans-serif;color:#444;padding:8px 0}
attesta-pdf .ap-status[hidden]{display:none}
attesta-pdf .ap-error{color:#7a1414;background:#fdecec;border:1px solid #f1b9b9;border-radius:6px;padding:12px}
attesta-pdf .ap-page-error{position:absolute;left:8px;right:8px;top:8px;z-index:3;font:13px/1.4 system-ui,sans-serif;color:#7a1414;background:#fdecec;border:1px solid #f1b9b9;border-radius:6px;padding:8px}
attesta-pdf .textLayer{position:absolute;left:0;top:0;width:100%!important;height:100%!important;overflow:clip;opacity:1;line-height:1;text-align:initial;letter-spacing:normal;word-spacing:normal;text-size-adjust:none;-webkit-text-size-adjust:none;forced-color-adjust:none;transform-origin:0 0;z-index:2;--min-font-size:1;--text-scale-factor:calc(var(--total-scale-factor) * var(--min-font-size));--min-font-size-inv:calc(1 / var(--min-font-size))}
attesta-pdf .textLayer span,attesta-pdf .textLayer br{color:transparent;position:absolute;white-space:pre;cursor:text;transform-origin:0% 0%;user-select:text}
attesta-pdf .textLayer>:not(.markedContent),attesta-pdf .textLayer .markedContent span:not(.markedContent){z-index:1;--font-height:0;font-size:calc(var(--text-scale-factor) * var(--font-height));--scale-x:1;--rotate:0deg;transform:rotate(var(--rotate)) scaleX(var(--scale-x)) scale(var(--min-font-size-inv))}
attesta-pdf .textLayer .markedContent{display:contents}
attesta-pdf .textLayer span[role="img"]{user-select:none;cursor:default}
attesta-pdf .textLayer ::selection{background:rgba(0,90,255,.3);color:transparent}
attesta-pdf .textLayer br::selection{background:transparent}
attesta-pdf .textLayer .endOfContent{display:block;position:absolute;inset:100% 0 0;z-index:0;cursor:default;user-select:none}
attesta-pdf .textLayer.selecting .endOfContent{top:0}
`;

let sheetInstalled = false;
function installStyles() {
  if (sheetInstalled) return;
  sheetInstalled = true;
  try {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
    document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
  } catch (e) {
    // Very old browsers: pages still work with the inline styles set below.
    console.warn("attesta-pdf: constructable stylesheets unavailable", e);
  }
}

function describeError(err) {
  if (err instanceof PasswordException) return "the file is password-protected.";
  if (err instanceof InvalidPDFException) return "the file is not a valid PDF.";
  if (err instanceof ResponseException || err?.name === "ResponseException") {
    const s = err.status;
    if (s === 401 || s === 403) return "you do not have access to this document (HTTP " + s + ").";
    if (s === 404) return "the document was not found (HTTP 404).";
    if (s) return "the server answered HTTP " + s + ".";
    return "the document could not be downloaded.";
  }
  const msg = (err && (err.message || String(err))) || "unknown error";
  return msg.endsWith(".") ? msg : msg + ".";
}

function scrollParent(el) {
  for (let n = el; n && n !== document.body && n !== document.documentElement; n = n.parentElement) {
    const oy = getComputedStyle(n).overflowY;
    if ((oy === "auto" || oy === "scroll") && n.scrollHeight > n.clientHeight) return n;
  }
  return null; // the viewport
}

class AttestaPdf extends HTMLElement {
  static get observedAttributes() {
    return ["src"];
  }

  constructor() {
    super();
    this._gen = 0; // bumps on every (re)load; stale async work checks it
  }

  connectedCallback() {
    installStyles();
    this._t0 = performance.now();
    if (this.hasAttribute("slots")) requestAnimationFrame(() => this.isConnected && this._load());
    else this._load();
  }

  get pdfData() {
    return this._data || null;
  }

  set pdfData(bytes) {
    this._data = bytes;
    if (this.isConnected) {
      this._t0 = performance.now();
      this._load();
    }
  }

  disconnectedCallback() {
    this._teardown();
  }

  attributeChangedCallback(name, oldV, newV) {
    if (name === "src" && this.isConnected && oldV !== null && oldV !== newV) {
      this._t0 = performance.now();
      this._load();
    }
  }

  // ---- lifecycle -------------------------------------------------------

  _teardown() {
    this._gen++;
    this._nearIO?.disconnect();
    this._keepIO?.disconnect();
    this._ro?.disconnect();
    clearTimeout(this._resizeTimer);
    for (const p of this._pages || []) p.task?.cancel();
    const task = this._loadingTask;
    this._loadingTask = null;
    this._pdf = null;
    this._pages = [];
    if (task) task.destroy().catch(() => {});
  }

  _setState(s) {
    this.dataset.state = s;
    this.setAttribute("aria-busy", s === "loading" ? "true" : "false");
  }

  _emit(type, detail) {
    this.dispatchEvent(new CustomEvent("attesta-pdf:" + type, { detail, bubbles: true, composed: true }));
  }

  async _load() {
    this._teardown();
    const gen = this._gen;
    const src = this.getAttribute("src");
    const data = this._data;
    this._slots = this.hasAttribute("slots");
    this._status = document.createElement("div");
    this._status.className = "ap-status";
    this._status.setAttribute("role", "status");
    this._status.textContent = "Loading document…";
    if (this._slots) {
      // The page boxes belong to the app; only the status line is ours.
      this._list = this;
      const holder = this.querySelector("[data-pdf-status]");
      if (holder) holder.replaceChildren(this._status);
      for (const slot of this.querySelectorAll("[data-pdf-slot]")) {
        slot.querySelectorAll(":scope > canvas, :scope > .textLayer, :scope > .ap-page-error").forEach((n) => n.remove());
      }
    } else {
      this.replaceChildren();
      this._list = document.createElement("div");
      this._list.className = "ap-pages";
      this.append(this._status, this._list);
    }
    this._setState("loading");
    this._renderedOnce = new Set();
    this._pageErrors = 0;
    this.dataset.renderedPages = "0";
    this.dataset.pageErrors = "0";
    this._firstPageSent = false;
    if (!src && !data) {
      if (this._slots) return; // the app sets pdfData when it has the bytes
      return this._fail(new Error("no document source was given."), gen);
    }

    try {
      this._loadingTask = getDocument({
        // pdf.js transfers the buffer to its worker: hand it a copy, keep the caller's bytes.
        ...(data ? { data: data.slice() } : { url: new URL(src, document.baseURI).href }),
        withCredentials: false, // fetch credentials "same-origin": cookies go with same-origin requests
        isEvalSupported: false, // no-op since pdf.js 6 (it no longer evals); kept for older builds
        cMapUrl: VENDOR + "cmaps/",
        cMapPacked: true,
        standardFontDataUrl: VENDOR + "standard_fonts/",
        wasmUrl: VENDOR + "wasm/",
        iccUrl: VENDOR + "iccs/",
        enableXfa: false,
      });
      const pdf = await this._loadingTask.promise;
      if (gen !== this._gen) return;
      this._pdf = pdf;
      const first = await pdf.getPage(1);
      if (gen !== this._gen) return;
      this._buildPlaceholders(pdf.numPages, first);
      this._status.hidden = true;
      this._emit("loaded", { pages: pdf.numPages });
      this._observe(gen);
    } catch (err) {
      this._fail(err, gen);
    }
  }

  _fail(err, gen) {
    if (gen !== this._gen) return;
    const reason = describeError(err);
    this._setState("error");
    if (!this._slots) this._list?.replaceChildren();
    this._status.hidden = false;
    this._status.className = "ap-status ap-error";
    this._status.setAttribute("role", "alert");
    this._status.textContent = "This PDF could not be displayed: " + reason;
    this._emit("error", { message: reason });
  }

  // ---- layout ----------------------------------------------------------

  _buildPlaceholders(n, firstPage) {
    if (this._slots) return this._adoptSlots(n, firstPage);
    const vp = firstPage.getViewport({ scale: 1 });
    const label = this.dataset.pageLabel || "Page";
    const of = this.dataset.ofLabel || "of";
    this._pages = [];
    const frag = document.createDocumentFragment();
    for (let i = 1; i <= n; i++) {
      const box = document.createElement("div");
      box.className = "ap-page";
      box.dataset.page = String(i);
      box.dataset.rendered = "false";
      box.setAttribute("role", "group");
      box.setAttribute("aria-label", `${label} ${i} ${of} ${n}`);
      box.style.aspectRatio = `${vp.width} / ${vp.height}`;
      box.style.position = "relative";
      box.style.width = "100%";
      const tag = document.createElement("span");
      tag.className = "ap-label";
      tag.setAttribute("aria-hidden", "true");
      tag.textContent = `${i} / ${n}`;
      box.append(tag);
      frag.append(box);
      this._pages.push({
        n: i,
        box,
        page: i === 1 ? firstPage : null,
        w: vp.width, // CSS px at scale 1 (PDF points, rotation applied)
        h: vp.height,
        sized: i === 1,
        near: false,
        canvas: null,
        renderedWidth: 0,
        task: null,
        textLayer: null,
      });
    }
    this._list.append(frag);
    this.dataset.pages = String(n);
    this._setState("ready");
  }

  _adoptSlots(n, firstPage) {
    const slots = [...this.querySelectorAll("[data-pdf-slot]")].sort((a, b) => +a.dataset.pdfSlot - +b.dataset.pdfSlot);
    const vp = firstPage.getViewport({ scale: 1 });
    this._pages = [];
    for (let i = 1; i <= Math.min(n, slots.length); i++) {
      const box = slots[i - 1];
      box.dataset.page = String(i);
      box.dataset.rendered = "false";
      this._pages.push({
        n: i, box, page: i === 1 ? firstPage : null, w: vp.width, h: vp.height, sized: i === 1,
        near: false, canvas: null, renderedWidth: 0, task: null, textLayer: null,
      });
    }
    this.dataset.pages = String(n);
    this._setState("ready");
  }

  _width() {
    if (this._slots) return Math.max(1, Math.floor(this._pages?.[0]?.box.clientWidth || this.clientWidth || 1));
    return Math.max(1, Math.floor(this._list.clientWidth || this.clientWidth || 1));
  }

  _observe(gen) {
    const root = scrollParent(this);
    const renderAll = this.hasAttribute("render-all");
    this._width0 = this._width();
    this._ro = new ResizeObserver(() => {
      clearTimeout(this._resizeTimer);
      this._resizeTimer = setTimeout(() => {
        if (gen !== this._gen) return;
        const w = this._width();
        if (w !== this._width0) {
          this._width0 = w;
          this._pump(gen);
        }
      }, RESIZE_DEBOUNCE_MS);
    });
    this._ro.observe(this._list);

    if (renderAll) {
      for (const p of this._pages) p.near = true;
    } else {
      // Render pages within ~1.5 viewports of the visible area.
      this._nearIO = new IntersectionObserver(
        (entries) => {
          for (const e of entries) {
            const p = this._pages[+e.target.dataset.page - 1];
            if (p) p.near = e.isIntersecting;
          }
          this._pump(gen);
        },
        { root, rootMargin: "150% 0px 150% 0px" }
      );
      // Release canvases of pages more than ~4 viewports away (big docs only).
      if (this._pages.length >= KEEP_ALL_BELOW) {
        this._keepIO = new IntersectionObserver(
          (entries) => {
            for (const e of entries) {
              if (!e.isIntersecting) this._release(this._pages[+e.target.dataset.page - 1]);
            }
          },
          { root, rootMargin: "400% 0px 400% 0px" }
        );
      }
      for (const p of this._pages) {
        this._nearIO.observe(p.box);
        this._keepIO?.observe(p.box);
      }
    }
    // Page 1 goes first regardless of scroll position.
    this._pages[0].near = true;
    this._pump(gen);
  }

  // Resolve real page sizes in the background once page 1 is up (small docs),
  // so placeholders have the right aspect ratio before they are rendered.
  async _sizeAll(gen) {
    if (this._pages.length > BG_SIZE_LIMIT) return;
    for (const p of this._pages) {
      if (gen !== this._gen) return;
      if (p.sized) continue;
      await this._ensurePage(p);
      await new Promise((r) => setTimeout(r, 0));
    }
  }

  async _ensurePage(p) {
    if (!p.page) p.page = await this._pdf.getPage(p.n);
    if (!p.sized) {
      const vp = p.page.getViewport({ scale: 1 });
      p.sized = true;
      if (Math.abs(vp.width - p.w) > 0.5 || Math.abs(vp.height - p.h) > 0.5) {
        p.w = vp.width;
        p.h = vp.height;
        if (!this._slots) p.box.style.aspectRatio = `${vp.width} / ${vp.height}`;
      }
    }
    return p.page;
  }

  // ---- rendering -------------------------------------------------------

  _pump(gen) {
    if (this._pumping || gen !== this._gen) return;
    this._pumping = true;
    (async () => {
      try {
        for (;;) {
          if (gen !== this._gen) return;
          const next = this._nextPage();
          if (!next) return;
          await this._renderPage(next, gen);
        }
      } finally {
        this._pumping = false;
      }
    })();
  }

  _nextPage() {
    const w = this._width();
    let best = null;
    let bestD = Infinity;
    const vh = window.innerHeight;
    for (const p of this._pages) {
      if (!p.near || p.failed || p.renderedWidth === w) continue;
      if (p.n === 1 && !this._firstPageSent) return p;
      const r = p.box.getBoundingClientRect();
      // distance from the visible band; visible pages first, then nearest
      const d = r.bottom < 0 ? -r.bottom : r.top > vh ? r.top - vh : 0;
      const score = d * 10 + p.n * 1e-3;
      if (score < bestD) {
        bestD = score;
        best = p;
      }
    }
    return best;
  }

  async _renderPage(p, gen) {
    const t = performance.now();
    const width = this._width();
    try {
      const page = await this._ensurePage(p);
      if (gen !== this._gen) return;
      const cssScale = width / p.w;
      let dpr = Math.min(window.devicePixelRatio || 1, MAX_DPR);
      const baseVp = page.getViewport({ scale: cssScale });
      const area = baseVp.width * baseVp.height * dpr * dpr;
      if (area > MAX_CANVAS_PIXELS) dpr = Math.sqrt(MAX_CANVAS_PIXELS / (baseVp.width * baseVp.height));
      const vp = page.getViewport({ scale: cssScale * dpr });
      const canvas = document.createElement("canvas");
      canvas.width = Math.floor(vp.width);
      canvas.height = Math.floor(vp.height);
      canvas.setAttribute("aria-hidden", "true");
      Object.assign(canvas.style, { position: "absolute", left: "0", top: "0", width: "100%", height: "100%", display: "block" });
      p.task = page.render({ canvas, viewport: vp });
      await p.task.promise;
      p.task = null;
      if (gen !== this._gen) return;
      // Swap in the finished canvas (no blank flash on re-render).
      if (p.canvas) p.canvas.replaceWith(canvas);
      else p.box.prepend(canvas);
      if (p.canvas && p.canvas !== canvas) {
        p.canvas.width = p.canvas.height = 0;
      }
      p.canvas = canvas;
      p.renderedWidth = width;
      p.box.dataset.rendered = "true";
      p.box.querySelector(".ap-page-error")?.remove();
      const ms = performance.now() - t;
      if (!this._renderedOnce.has(p.n)) {
        this._renderedOnce.add(p.n);
        this.dataset.renderedPages = String(this._renderedOnce.size);
      }
      if (p.n === 1 && !this._firstPageSent) {
        this._firstPageSent = true;
        this._emit("first-page", { ms: performance.now() - this._t0 });
        this._sizeAll(gen);
      }
      this._emit("page-rendered", { page: p.n, ms, width: canvas.width, height: canvas.height });
      if (!this.hasAttribute("no-text-layer")) await this._renderText(p, page, cssScale, gen);
    } catch (err) {
      p.task = null;
      if (gen !== this._gen) return;
      if (err instanceof RenderingCancelledException || err?.name === "RenderingCancelledException") return;
      p.failed = true;
      this._pageErrors++;
      this.dataset.pageErrors = String(this._pageErrors);
      const msg = describeError(err);
      const box = document.createElement("div");
      box.className = "ap-page-error";
      box.setAttribute("role", "alert");
      box.textContent = "This page could not be displayed: " + msg;
      p.box.append(box);
      if (p.n === 1 && !this._firstPageSent) {
        this._firstPageSent = true; // keep going with the other pages
        this._sizeAll(gen);
      }
      this._emit("error", { message: msg, page: p.n });
    }
  }

  async _renderText(p, page, cssScale, gen) {
    try {
      p.textLayer?.cancel?.();
      p.box.querySelector(".textLayer")?.remove();
      const div = document.createElement("div");
      div.className = "textLayer";
      div.style.setProperty("--total-scale-factor", String(cssScale));
      div.style.setProperty("--scale-round-x", "1px");
      div.style.setProperty("--scale-round-y", "1px");
      const tl = new TextLayer({
        textContentSource: page.streamTextContent({ includeMarkedContent: true }),
        container: div,
        viewport: page.getViewport({ scale: cssScale }),
      });
      p.textLayer = tl;
      p.box.append(div);
      await tl.render();
      if (gen !== this._gen) div.remove();
    } catch (err) {
      // The canvas is what matters; a missing text layer only loses selection.
      if (!(err?.name === "AbortException")) console.warn("attesta-pdf: text layer failed on page " + p.n, err);
    }
  }

  _release(p) {
    if (!p || !p.canvas || this.hasAttribute("render-all")) return;
    if (this._pages.length < KEEP_ALL_BELOW) return;
    p.task?.cancel();
    p.canvas.width = p.canvas.height = 0; // free the backing store now
    p.canvas.remove();
    p.canvas = null;
    p.textLayer?.cancel?.();
    p.textLayer = null;
    p.box.querySelector(".textLayer")?.remove();
    p.renderedWidth = 0;
    p.box.dataset.rendered = "false";
    p.page?.cleanup();
  }
}

if (!customElements.get("attesta-pdf")) customElements.define("attesta-pdf", AttestaPdf);

export { AttestaPdf };
