//! The browser side of the pad: pointer input on the canvas, painting at the device's pixel
//! ratio, and exporting drawn or typed ink as a trimmed PNG.

use super::ink::{self, BASE_WIDTH, Ink, Point, Segment};
use leptos::html;
use leptos::prelude::*;
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::JsCast as _;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement, PointerEvent, ResizeObserver};

/// Dark blue: reads as ink on paper and stays distinct from black print in the signed PDF.
pub const INK_COLOUR: &str = "#1a2b6d";
/// The handwriting face declared with `@font-face` in the stylesheet, then a fallback.
pub const FONT_STACK: &str = "\"Dancing Script\", cursive";
/// Widest exported image, in pixels.
const MAX_WIDTH: u32 = 1200;
/// Beyond 3 the backing store grows (9× the pixels at 3) without a visible gain.
const MAX_DPR: f64 = 3.0;
/// Transparent space kept around the ink, in frame pixels.
const MARGIN: f64 = 6.0;
/// Size the typed name is set at before trimming.
const TYPED_PX: f64 = 112.0;

/// Why an export produced no image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportError {
    /// Nothing visible to export.
    Empty,
    /// A canvas call failed (out of memory, canvas blocked by the browser).
    Browser,
}

impl From<JsValue> for ExportError {
    fn from(_: JsValue) -> Self {
        Self::Browser
    }
}

/// The drawing surface. Cheap to clone: the clones share one state.
#[derive(Clone)]
pub struct Pad {
    state: Rc<RefCell<State>>,
    ink: RwSignal<Ink>,
}

#[derive(Default)]
struct State {
    canvas: Option<HtmlCanvasElement>,
    ctx: Option<CanvasRenderingContext2d>,
    /// The canvas's CSS size, and backing-store pixels per CSS pixel.
    width: f64,
    height: f64,
    dpr: f64,
    /// The stroke under the finger, not yet in `ink`.
    live: Option<Live>,
    observer: Option<(ResizeObserver, Closure<dyn FnMut()>)>,
}

struct Live {
    pointer_id: i32,
    pen: bool,
    points: Vec<Point>,
}

impl Pad {
    /// Wires the pad to the canvas once it is mounted, and repaints whenever `ink` changes
    /// (undo, clear, a finished stroke).
    pub fn new(canvas: NodeRef<html::Canvas>, ink: RwSignal<Ink>) -> Self {
        let pad = Self { state: Rc::default(), ink };
        let attach = pad.clone();
        Effect::new(move |_| {
            if let Some(el) = canvas.get() {
                attach.attach(el);
            }
        });
        let repaint = pad.clone();
        Effect::new(move |_| {
            ink.track();
            repaint.repaint();
        });
        // The observer's callback holds a clone of the pad: disconnecting breaks that cycle.
        let detach = send_wrapper::SendWrapper::new(pad.clone());
        on_cleanup(move || detach.take().detach());
        pad
    }

    fn attach(&self, canvas: HtmlCanvasElement) {
        let mut s = self.state.borrow_mut();
        if s.canvas.as_ref() == Some(&canvas) {
            return;
        }
        let Ok(ctx) = context(&canvas) else { return };
        s.canvas = Some(canvas.clone());
        s.ctx = Some(ctx);
        // Follows the container: opening the sheet, switching back from the Type tab, rotating.
        let pad = self.clone();
        let on_resize = Closure::<dyn FnMut()>::new(move || pad.resize());
        if let Ok(observer) = ResizeObserver::new(on_resize.as_ref().unchecked_ref()) {
            observer.observe(&canvas);
            s.observer = Some((observer, on_resize));
        }
        drop(s);
        self.resize();
    }

    fn detach(self) {
        let observer = self.state.borrow_mut().observer.take();
        if let Some((observer, _closure)) = observer {
            observer.disconnect();
        }
    }

    /// Matches the backing store to the canvas's CSS size × the pixel ratio, then redraws.
    fn resize(&self) {
        {
            let mut s = self.state.borrow_mut();
            let Some(canvas) = s.canvas.clone() else { return };
            // Layout size, unaffected by a CSS transform animating the sheet in.
            let (w, h) = (f64::from(canvas.client_width()), f64::from(canvas.client_height()));
            if w < 1.0 || h < 1.0 {
                // Hidden behind the other tab; keep what is there.
                return;
            }
            let dpr = window().device_pixel_ratio().clamp(1.0, MAX_DPR);
            let (pw, ph) = ((w * dpr).round() as u32, (h * dpr).round() as u32);
            if canvas.width() != pw || canvas.height() != ph {
                canvas.set_width(pw);
                canvas.set_height(ph);
            }
            s.width = w;
            s.height = h;
            s.dpr = dpr;
        }
        self.repaint();
    }

    fn scale(&self, s: &State) -> f64 {
        self.ink.with_untracked(|ink| ink.scale_for(s.width, s.height))
    }

    /// Paints every finished stroke and the one in progress.
    fn repaint(&self) {
        let s = self.state.borrow();
        let (Some(ctx), Some(canvas)) = (&s.ctx, &s.canvas) else { return };
        if s.width <= 0.0 {
            return;
        }
        ctx.set_transform(1.0, 0.0, 0.0, 1.0, 0.0, 0.0).ok();
        ctx.clear_rect(0.0, 0.0, f64::from(canvas.width()), f64::from(canvas.height()));
        let k = s.dpr * self.scale(&s);
        prepare(ctx, k, 0.0, 0.0);
        self.ink.with_untracked(|ink| ink.strokes().iter().for_each(|stroke| paint_stroke(ctx, stroke)));
        if let Some(live) = &s.live {
            paint_start(ctx, &live.points);
            ink::open_segments(&live.points).iter().for_each(|seg| paint_segment(ctx, seg));
        }
    }

    /// Pointer events on the canvas, all routed here.
    pub fn handle(&self, ev: &PointerEvent) {
        match ev.type_().as_str() {
            "pointerdown" => self.down(ev),
            "pointermove" => self.moved(ev),
            "pointerup" | "pointercancel" | "lostpointercapture" => self.up(ev),
            _ => {}
        }
    }

    fn down(&self, ev: &PointerEvent) {
        // A second finger (pinch, palm) and right or middle clicks do not draw.
        if !ev.is_primary() || (ev.pointer_type() == "mouse" && ev.button() != 0) {
            return;
        }
        let (canvas, w, h) = {
            let s = self.state.borrow();
            match (&s.canvas, s.live.is_some()) {
                (Some(c), false) if s.width > 0.0 => (c.clone(), s.width, s.height),
                _ => return,
            }
        };
        ev.prevent_default();
        // Keeps the moves coming when the finger strays off the canvas mid-stroke.
        canvas.set_pointer_capture(ev.pointer_id()).ok();
        if self.ink.with_untracked(Ink::is_empty) {
            self.ink.update(|ink| ink.set_frame(w, h));
        }
        let pen = ev.pointer_type() == "pen";
        let mut s = self.state.borrow_mut();
        let Some(point) = self.point(&s, ev, pen) else { return };
        s.live = Some(Live { pointer_id: ev.pointer_id(), pen, points: vec![point] });
        if let Some(ctx) = &s.ctx {
            prepare(ctx, s.dpr * self.scale(&s), 0.0, 0.0);
            paint_start(ctx, &[point]);
        }
    }

    fn moved(&self, ev: &PointerEvent) {
        let mut s = self.state.borrow_mut();
        let (pointer_id, pen) = match &s.live {
            Some(live) => (live.pointer_id, live.pen),
            None => return,
        };
        if ev.pointer_id() != pointer_id {
            return;
        }
        ev.prevent_default();
        // Browsers deliver one move per frame; the coalesced samples in between make fast
        // strokes round instead of polygonal.
        let mut samples: Vec<PointerEvent> = Vec::new();
        if js_sys::Reflect::has(ev, &JsValue::from_str("getCoalescedEvents")).unwrap_or(false) {
            samples.extend(ev.get_coalesced_events().iter().filter_map(|e| e.dyn_into::<PointerEvent>().ok()));
        }
        if samples.is_empty() {
            samples.push(ev.clone());
        }
        let points: Vec<Point> = samples.iter().filter_map(|e| self.point(&s, e, pen)).collect();
        let k = s.dpr * self.scale(&s);
        let ctx = s.ctx.clone();
        let Some(live) = s.live.as_mut() else { return };
        if let Some(ctx) = &ctx {
            prepare(ctx, k, 0.0, 0.0);
        }
        for point in points {
            if live.points.last().is_some_and(|last| !ink::far_enough(*last, point)) {
                continue;
            }
            live.points.push(point);
            if let (Some(ctx), Some(seg)) = (&ctx, ink::latest_segment(&live.points)) {
                paint_segment(ctx, &seg);
            }
        }
    }

    fn up(&self, ev: &PointerEvent) {
        let live = {
            let mut s = self.state.borrow_mut();
            match &s.live {
                Some(live) if live.pointer_id == ev.pointer_id() => s.live.take(),
                _ => None,
            }
        };
        // A cancelled stroke (the browser took the gesture) keeps what was drawn.
        if let Some(live) = live {
            self.ink.update(|ink| ink.push(live.points));
        }
    }

    /// Where the event is, in frame pixels, clamped to the canvas.
    fn point(&self, s: &State, ev: &PointerEvent, pen: bool) -> Option<Point> {
        let canvas = s.canvas.as_ref()?;
        let rect = canvas.get_bounding_client_rect();
        if rect.width() <= 0.0 || rect.height() <= 0.0 {
            return None;
        }
        // `clientX` is fractional for touch and pens; web-sys reads it as a whole number.
        let read = |name: &str, whole: i32| {
            js_sys::Reflect::get(ev, &JsValue::from_str(name)).ok().and_then(|v| v.as_f64()).unwrap_or(f64::from(whole))
        };
        let x = ((read("clientX", ev.client_x()) - rect.left()) * s.width / rect.width()).clamp(0.0, s.width);
        let y = ((read("clientY", ev.client_y()) - rect.top()) * s.height / rect.height()).clamp(0.0, s.height);
        let scale = self.scale(s);
        let width = ink::pen_width(BASE_WIDTH, pen.then(|| ev.pressure()));
        Some(Point { x: x / scale, y: y / scale, width })
    }
}

fn context(canvas: &HtmlCanvasElement) -> Result<CanvasRenderingContext2d, ExportError> {
    canvas.get_context("2d")?.ok_or(ExportError::Browser)?.dyn_into().map_err(|_| ExportError::Browser)
}

fn new_canvas(width: u32, height: u32) -> Result<HtmlCanvasElement, ExportError> {
    let canvas: HtmlCanvasElement =
        document().create_element("canvas")?.dyn_into().map_err(|_| ExportError::Browser)?;
    canvas.set_width(width.max(1));
    canvas.set_height(height.max(1));
    Ok(canvas)
}

/// Sets scale, offset and pen. (Resizing a canvas resets all of these.)
fn prepare(ctx: &CanvasRenderingContext2d, k: f64, dx: f64, dy: f64) {
    ctx.set_transform(k, 0.0, 0.0, k, dx, dy).ok();
    ctx.set_stroke_style_str(INK_COLOUR);
    ctx.set_fill_style_str(INK_COLOUR);
    ctx.set_line_cap("round");
    ctx.set_line_join("round");
}

fn paint_segment(ctx: &CanvasRenderingContext2d, seg: &Segment) {
    ctx.begin_path();
    ctx.set_line_width(seg.width);
    ctx.move_to(seg.from.0, seg.from.1);
    ctx.quadratic_curve_to(seg.ctrl.0, seg.ctrl.1, seg.to.0, seg.to.1);
    ctx.stroke();
}

/// A dot where the stroke began, so a tap (the dot of an i) leaves a mark.
fn paint_start(ctx: &CanvasRenderingContext2d, points: &[Point]) {
    if let Some(p) = points.first() {
        ctx.begin_path();
        ctx.arc(p.x, p.y, p.width / 2.0, 0.0, std::f64::consts::TAU).ok();
        ctx.fill();
    }
}

fn paint_stroke(ctx: &CanvasRenderingContext2d, points: &[Point]) {
    paint_start(ctx, points);
    ink::segments(points).iter().for_each(|seg| paint_segment(ctx, seg));
}

/// The drawing as a PNG: redrawn offscreen at up to 3× so it is sharp in the PDF, then trimmed.
pub async fn export_drawn(ink: &Ink) -> Result<Vec<u8>, ExportError> {
    let extent = ink.extent().ok_or(ExportError::Empty)?;
    let k = ink::export_scale(extent.width() + 2.0 * MARGIN, f64::from(MAX_WIDTH));
    let canvas = new_canvas(
        ((extent.width() + 2.0 * MARGIN) * k).ceil() as u32,
        ((extent.height() + 2.0 * MARGIN) * k).ceil() as u32,
    )?;
    let ctx = context(&canvas)?;
    prepare(&ctx, k, (MARGIN - extent.min_x) * k, (MARGIN - extent.min_y) * k);
    ink.strokes().iter().for_each(|stroke| paint_stroke(&ctx, stroke));
    trim_to_png(&canvas, &ctx, (MARGIN * k).round() as u32).await
}

/// The typed text set in the handwriting face, as a PNG trimmed like a drawing.
pub async fn export_typed(text: &str) -> Result<Vec<u8>, ExportError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(ExportError::Empty);
    }
    let mut font = format!("{TYPED_PX}px {FONT_STACK}");
    // A canvas does not wait for a web font: without this, the first export could come out in
    // the fallback face. A failed load leaves the fallback, which is still a fair rendering.
    JsFuture::from(document().fonts().load_with_text(&font, text)).await.ok();
    let canvas = new_canvas(1, 1)?;
    let ctx = context(&canvas)?;
    ctx.set_font(&font);
    let mut m = ctx.measure_text(text)?;
    let pad = TYPED_PX * 0.4;
    let mut size = TYPED_PX;
    // A long name is set smaller, so the image is not scaled down (and blurred) afterwards.
    let room = f64::from(MAX_WIDTH) - 2.0 * MARGIN;
    let wide = m.actual_bounding_box_left() + m.actual_bounding_box_right() + 2.0 * pad;
    if wide > room {
        size = (TYPED_PX * room / wide).floor().max(8.0);
        font = format!("{size}px {FONT_STACK}");
        ctx.set_font(&font);
        m = ctx.measure_text(text)?;
    }
    let pad = size * 0.4;
    let width = m.actual_bounding_box_left() + m.actual_bounding_box_right() + 2.0 * pad;
    let height = m.actual_bounding_box_ascent() + m.actual_bounding_box_descent() + 2.0 * pad;
    canvas.set_width(width.ceil() as u32);
    canvas.set_height(height.ceil() as u32);
    // Resizing reset the context.
    prepare(&ctx, 1.0, 0.0, 0.0);
    ctx.set_font(&font);
    ctx.fill_text(text, pad + m.actual_bounding_box_left(), pad + m.actual_bounding_box_ascent())?;
    trim_to_png(&canvas, &ctx, MARGIN.round() as u32 * 2).await
}

/// Finds the ink by its alpha, copies it with `margin` transparent pixels around into a new
/// canvas no wider than [`MAX_WIDTH`], and encodes that as PNG.
async fn trim_to_png(
    canvas: &HtmlCanvasElement,
    ctx: &CanvasRenderingContext2d,
    margin: u32,
) -> Result<Vec<u8>, ExportError> {
    let (w, h) = (canvas.width(), canvas.height());
    let pixels = ctx.get_image_data(0.0, 0.0, f64::from(w), f64::from(h))?.data();
    let bounds = ink::alpha_bounds(&pixels, w, h).ok_or(ExportError::Empty)?;
    let plan = ink::crop_plan(bounds, margin, MAX_WIDTH);
    let out = new_canvas(plan.out_width, plan.out_height)?;
    let out_ctx = context(&out)?;
    out_ctx.draw_image_with_html_canvas_element_and_sw_and_sh_and_dx_and_dy_and_dw_and_dh(
        canvas,
        f64::from(plan.src.x),
        f64::from(plan.src.y),
        f64::from(plan.src.width),
        f64::from(plan.src.height),
        plan.dest_x,
        plan.dest_y,
        plan.dest_width,
        plan.dest_height,
    )?;
    png_bytes(&out).await
}

/// The canvas encoded by `toBlob` (asynchronous, unlike `toDataURL`, and no base64 round trip).
async fn png_bytes(canvas: &HtmlCanvasElement) -> Result<Vec<u8>, ExportError> {
    let encoded = js_sys::Promise::new(&mut |resolve, reject| {
        if let Err(e) = canvas.to_blob_with_type(&resolve, "image/png") {
            reject.call1(&JsValue::NULL, &e).ok();
        }
    });
    // `toBlob` hands over null when it could not encode; that fails the cast.
    let blob: web_sys::Blob = JsFuture::from(encoded).await?.dyn_into().map_err(|_| ExportError::Browser)?;
    let bytes = JsFuture::from(blob.array_buffer()).await?;
    Ok(js_sys::Uint8Array::new(&bytes).to_vec())
}
