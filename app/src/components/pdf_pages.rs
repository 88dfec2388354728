//! The pages of a PDF with something laid over each: the editor's fields, the signer's fields.
//!
//! The app owns the page boxes (each sized to its page as shown, from the server's page
//! geometry) and `<attesta-pdf slots>` (public/viewer.js) paints pdf.js canvases into the
//! `data-pdf-slot` inside each box. Overlays are positioned in fractions of the box, so they
//! stay on their spot at any zoom or screen width. Rendered in the browser only: the viewer
//! script adds canvases, which hydration must never see.

use attesta_core::signing::geometry::{PageGeometry, ViewRect};
use leptos::prelude::*;

/// The element id of the viewer, for code that hands it the PDF bytes.
pub const VIEWER_ID: &str = "pdf-pages";

/// Asks the browser, from the server-rendered `<head>`, for the viewer's modules (the viewer and
/// pdf.js; the viewer starts pdf.js's worker as soon as it runs) beside the WASM client, rather
/// than after it: pages that show a PDF put this in their view.
#[component]
pub fn PreloadViewer() -> impl IntoView {
    use leptos_meta::Link;
    view! {
        <Link rel="modulepreload" href="/viewer.js" />
        <Link rel="modulepreload" href="/vendor/pdfjs/pdf.min.mjs" />
    }
}

#[component]
pub fn PdfPages<F, V>(
    pages: Vec<PageGeometry>,
    /// Where the viewer fetches the PDF; `None` when the page sets `pdfData` itself.
    src: Option<String>,
    /// Width of the pages as a share of the available width (1.0 = fit).
    zoom: Signal<f64>,
    /// What to lay over page `n` (1-based).
    overlay: F,
) -> impl IntoView
where
    F: Fn(u32, PageGeometry) -> V + Send + Sync + 'static,
    V: IntoView + 'static,
{
    let mounted = RwSignal::new(false);
    Effect::new(move |_| mounted.set(true));
    let overlay = StoredValue::new(overlay);
    let pages = StoredValue::new(pages);
    let src = StoredValue::new(src);
    view! {
        <PreloadViewer />
        // The viewer element (pdf.js underneath), loaded where pages are shown.
        <script type="module" src="/viewer.js" nonce=leptos::nonce::use_nonce()></script>
        <div class="pdf-pages__scroller">
            <Show when=move || mounted.get() fallback=|| view! { <p class="muted">"Loading pages…"</p> }>
                <attesta-pdf
                    id=VIEWER_ID
                    class="pdf-pages"
                    slots=""
                    no-text-layer=""
                    src=src.get_value()
                    style:width=move || format!("{:.0}%", zoom.get() * 100.0)
                >
                    <div data-pdf-status="" class="pdf-pages__status"></div>
                    {pages
                        .get_value()
                        .into_iter()
                        .zip(1u32..)
                        .map(|(geometry, n)| {
                            let (w, h) = geometry.display_size();
                            view! {
                                <div
                                    class="pdf-page"
                                    data-page-box=n
                                    style:aspect-ratio=format!("{w} / {h}")
                                    role="group"
                                    aria-label=format!("Page {n}")
                                >
                                    <div class="pdf-page__slot" data-pdf-slot=n></div>
                                    <div class="pdf-page__overlay">
                                        {overlay.with_value(|f| f(n, geometry))}
                                    </div>
                                </div>
                            }
                        })
                        .collect_view()}
                </attesta-pdf>
            </Show>
        </div>
    }
}

/// `left/top/width/height` in percent, as CSS properties, for an overlay box.
pub fn percent_box(rect: ViewRect) -> [(&'static str, String); 4] {
    [
        ("left", format!("{:.4}%", rect.left * 100.0)),
        ("top", format!("{:.4}%", rect.top * 100.0)),
        ("width", format!("{:.4}%", rect.width * 100.0)),
        ("height", format!("{:.4}%", rect.height * 100.0)),
    ]
}

/// The colours recipients are told apart by (colour-blind-safe order, Okabe–Ito).
pub const RECIPIENT_COLOURS: [&str; 8] =
    ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#8B6D00", "#555555"];

pub fn recipient_colour(index: usize) -> &'static str {
    RECIPIENT_COLOURS[index % RECIPIENT_COLOURS.len()]
}

/// The class that gives an element recipient `index`'s colour as `--rc` (`.rc-0` … `.rc-7` in
/// the stylesheet, the same colours as [`RECIPIENT_COLOURS`]): the CSP allows no inline style.
pub fn recipient_class(index: usize) -> String {
    format!("rc-{}", index % RECIPIENT_COLOURS.len())
}

/// Which page is most in view, and which part of it is on screen (from its top to its bottom,
/// as fractions of the page's height): page 1 and all of it when none is.
#[cfg(feature = "hydrate")]
pub fn page_in_view() -> (u32, (f64, f64)) {
    let Ok(boxes) = document().query_selector_all("[data-page-box]") else { return (1, (0.0, 1.0)) };
    let height = window().inner_height().ok().and_then(|h| h.as_f64()).unwrap_or(800.0);
    let mut best = (1u32, (0.0, 1.0), 0.0f64);
    for i in 0..boxes.length() {
        let Some(el) = boxes.item(i).and_then(|n| wasm_bindgen::JsCast::dyn_into::<web_sys::Element>(n).ok()) else {
            continue;
        };
        let r = el.get_bounding_client_rect();
        let (top, bottom) = (r.top().max(0.0), r.bottom().min(height));
        let visible = (bottom - top).max(0.0);
        if visible > best.2 && r.height() > 0.0 {
            let n = el.get_attribute("data-page-box").and_then(|v| v.parse().ok()).unwrap_or(1);
            best = (n, ((top - r.top()) / r.height(), (bottom - r.top()) / r.height()), visible);
        }
    }
    (best.0, best.1)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_stylesheet_gives_each_recipient_class_its_colour() {
        let css = include_str!("../../../style/main.css");
        for (i, colour) in super::RECIPIENT_COLOURS.iter().enumerate() {
            let rule = format!(".{} {{ --rc: {colour}; }}", super::recipient_class(i));
            assert!(css.contains(&rule), "style/main.css lacks `{rule}`");
        }
        assert_eq!(super::recipient_class(9), "rc-1", "colours repeat after eight");
    }
}
