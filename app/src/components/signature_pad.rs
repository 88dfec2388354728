//! The signer's signature or initials, captured on a phone first: drawn with a finger, pen or
//! mouse, or typed and set in a handwriting face (the path for keyboard and screen-reader users).
//! Hands back a PNG of the ink alone: transparent background, ink `#1a2b6d`, trimmed to the ink
//! plus a small margin, at most 1200 px wide.
//!
//! Invariants: strokes are kept in CSS pixels of the pad's size when the first one began
//! ([`ink::Ink`]) and redrawn scaled whenever the pad changes size, so rotating the phone keeps
//! them; the canvas's backing store is the device pixel ratio (capped at 3) times its CSS size.
//! The server renders the markup only; everything that touches the canvas is `hydrate`-only.
//! The markup carries no `style` attribute: the Content-Security-Policy (`style-src 'self'`)
//! would block it, so all styling is in the stylesheet under `sigpad-` classes.

#[cfg(feature = "hydrate")]
mod browser;
pub mod ink;

use ink::Ink;
use leptos::html;
use leptos::prelude::*;

/// What is being captured; sets the wording, the pad's shape and what the Type tab proposes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PadKind {
    Signature,
    Initials,
}

/// How the signer made the mark (recorded with the signature as evidence of intent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaptureMethod {
    Drawn,
    Typed,
}

/// The adopted mark.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapturedImage {
    /// A PNG: transparent background, trimmed to the ink plus a margin, at most 1200 px wide.
    pub png: Vec<u8>,
    pub method: CaptureMethod,
}

impl PadKind {
    fn slug(self) -> &'static str {
        match self {
            Self::Signature => "signature",
            Self::Initials => "initials",
        }
    }
}

/// The id of the pad's heading, for a dialog's `aria-labelledby`.
pub fn title_id(kind: PadKind) -> String {
    format!("sigpad-{}-title", kind.slug())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tab {
    Draw,
    Type,
}

/// Initials from a name: the first letter of its first and of its last word, upper case
/// ("ada king lovelace" → "AL"; "Plato" → "P"). Leading punctuation is skipped.
pub fn initials(name: &str) -> String {
    let first_letter = |word: &str| word.chars().find(|c| c.is_alphanumeric());
    let words: Vec<&str> = name.split_whitespace().filter(|w| first_letter(w).is_some()).collect();
    let picked = match words.as_slice() {
        [] => Vec::new(),
        [only] => vec![*only],
        [first, .., last] => vec![*first, *last],
    };
    picked.into_iter().filter_map(first_letter).flat_map(char::to_uppercase).collect()
}

/// What the Type tab starts with: the name, or initials derived from it.
pub fn prefill(kind: PadKind, signer_name: &str) -> String {
    match kind {
        PadKind::Signature => signer_name.split_whitespace().collect::<Vec<_>>().join(" "),
        PadKind::Initials => initials(signer_name),
    }
}

/// Why "Adopt and sign" refused, when there is nothing to adopt.
fn empty_message(kind: PadKind, tab: Tab) -> &'static str {
    match (tab, kind) {
        (Tab::Draw, PadKind::Signature) => "Draw your signature first.",
        (Tab::Draw, PadKind::Initials) => "Draw your initials first.",
        (Tab::Type, PadKind::Signature) => "Type your name first.",
        (Tab::Type, PadKind::Initials) => "Type your initials first.",
    }
}

/// Signature or initials capture with a Draw and a Type tab. Meant for a dialog or bottom sheet;
/// label the dialog with [`title_id`].
#[component]
pub fn SignaturePad(
    kind: PadKind,
    /// Name to prefill the typed tab (initials derived from it for [`PadKind::Initials`]).
    #[prop(into)]
    signer_name: String,
    /// Called with the PNG once the signer adopts the mark.
    #[prop(into)]
    on_done: Callback<CapturedImage>,
    #[prop(into)] on_cancel: Callback<()>,
) -> impl IntoView {
    let slug = kind.slug();
    let id = move |part: &str| format!("sigpad-{slug}-{part}");
    let (draw_tab_id, type_tab_id) = (id("tab-draw"), id("tab-type"));
    let (draw_panel_id, type_panel_id) = (id("panel-draw"), id("panel-type"));

    let tab = RwSignal::new(Tab::Draw);
    let ink = RwSignal::new(Ink::default());
    let typed = RwSignal::new(prefill(kind, &signer_name));
    let error = RwSignal::new(None::<&'static str>);
    let busy = RwSignal::new(false);
    let canvas_ref = NodeRef::<html::Canvas>::new();
    let draw_tab_ref = NodeRef::<html::Button>::new();
    let type_tab_ref = NodeRef::<html::Button>::new();

    // Stored so the handler below stays `Copy`, like every other one in the view.
    #[cfg(feature = "hydrate")]
    let pad = StoredValue::new_local(browser::Pad::new(canvas_ref, ink));
    let on_pointer = move |_ev: leptos::ev::PointerEvent| {
        #[cfg(feature = "hydrate")]
        {
            if _ev.type_() == "pointerdown" {
                error.set(None);
            }
            pad.with_value(|pad| pad.handle(&_ev));
        }
    };

    let select = move |next: Tab| {
        tab.set(next);
        error.set(None);
    };
    // Arrow keys move between the tabs (and select: there are only two, both cheap to show).
    let on_tab_key = move |ev: leptos::ev::KeyboardEvent| {
        let next = match ev.key().as_str() {
            "ArrowLeft" | "ArrowRight" => match tab.get_untracked() {
                Tab::Draw => Tab::Type,
                Tab::Type => Tab::Draw,
            },
            "Home" => Tab::Draw,
            "End" => Tab::Type,
            _ => return,
        };
        ev.prevent_default();
        select(next);
        let target = if next == Tab::Draw { draw_tab_ref } else { type_tab_ref };
        if let Some(button) = target.get_untracked() {
            button.focus().ok();
        }
    };

    let adopt = move |_| {
        if busy.get_untracked() {
            return;
        }
        let current = tab.get_untracked();
        let nothing = match current {
            Tab::Draw => ink.with_untracked(Ink::is_empty),
            Tab::Type => typed.with_untracked(|t| t.trim().is_empty()),
        };
        if nothing {
            error.set(Some(empty_message(kind, current)));
            return;
        }
        error.set(None);
        #[cfg(feature = "hydrate")]
        {
            busy.set(true);
            leptos::task::spawn_local(async move {
                let (result, method) = match current {
                    Tab::Draw => (browser::export_drawn(&ink.get_untracked()).await, CaptureMethod::Drawn),
                    Tab::Type => (browser::export_typed(&typed.get_untracked()).await, CaptureMethod::Typed),
                };
                busy.set(false);
                match result {
                    Ok(png) => on_done.run(CapturedImage { png, method }),
                    Err(browser::ExportError::Empty) => error.set(Some(empty_message(kind, current))),
                    Err(browser::ExportError::Browser) => {
                        error.set(Some("Your browser could not make the image. Please try again."));
                    }
                }
            });
        }
        // The server renders the pad but never runs its handlers.
        #[cfg(not(feature = "hydrate"))]
        let _ = on_done;
    };

    let (title, adopt_label, canvas_label, line_hint, input_label) = match kind {
        PadKind::Signature => {
            ("Your signature", "Adopt and sign", "Signature drawing area", "Sign above the line", "Your full name")
        }
        PadKind::Initials => (
            "Your initials",
            "Adopt initials",
            "Initials drawing area",
            "Write your initials above the line",
            "Your initials",
        ),
    };
    let hint_id = id("hint");
    let input_id = id("input");
    let draw_selected = move || tab.get() == Tab::Draw;

    view! {
        <div class=format!("sigpad sigpad--{slug}") data-testid="sigpad">
            <h2 class="sigpad__title" id=title_id(kind)>
                {title}
            </h2>
            <div class="sigpad__tabs" role="tablist" aria-label="How to sign">
                <button
                    type="button"
                    role="tab"
                    class="sigpad__tab"
                    id=draw_tab_id.clone()
                    aria-controls=draw_panel_id.clone()
                    aria-selected=move || draw_selected().to_string()
                    tabindex=move || if draw_selected() { "0" } else { "-1" }
                    node_ref=draw_tab_ref
                    on:click=move |_| select(Tab::Draw)
                    on:keydown=on_tab_key
                    data-testid="sigpad-tab-draw"
                >
                    "Draw"
                </button>
                <button
                    type="button"
                    role="tab"
                    class="sigpad__tab"
                    id=type_tab_id.clone()
                    aria-controls=type_panel_id.clone()
                    aria-selected=move || (!draw_selected()).to_string()
                    tabindex=move || if draw_selected() { "-1" } else { "0" }
                    node_ref=type_tab_ref
                    on:click=move |_| select(Tab::Type)
                    on:keydown=on_tab_key
                    data-testid="sigpad-tab-type"
                >
                    "Type"
                </button>
            </div>
            <div
                class="sigpad__panel"
                role="tabpanel"
                id=draw_panel_id
                aria-labelledby=draw_tab_id
                hidden=move || !draw_selected()
            >
                <div class="sigpad__surface">
                    <div class="sigpad__baseline" aria-hidden="true">
                        <span class="sigpad__baseline-text">{line_hint}</span>
                    </div>
                    <canvas
                        class="sigpad__canvas"
                        node_ref=canvas_ref
                        role="img"
                        aria-label=canvas_label
                        aria-describedby=hint_id.clone()
                        width="900"
                        height="300"
                        on:pointerdown=on_pointer
                        on:pointermove=on_pointer
                        on:pointerup=on_pointer
                        on:pointercancel=on_pointer
                        on:lostpointercapture=on_pointer
                        data-testid="sigpad-canvas"
                    ></canvas>
                </div>
                <div class="sigpad__tools">
                    <p class="sigpad__hint" id=hint_id>
                        "Use your finger, a pen or the mouse. Using a keyboard? Choose Type."
                    </p>
                    <button
                        type="button"
                        class="button button--quiet button--small"
                        disabled=move || ink.with(Ink::is_empty)
                        on:click=move |_| ink.update(Ink::undo)
                        data-testid="sigpad-undo"
                    >
                        "Undo last stroke"
                    </button>
                    <button
                        type="button"
                        class="button button--quiet button--small"
                        disabled=move || ink.with(Ink::is_empty)
                        on:click=move |_| ink.update(Ink::clear)
                        data-testid="sigpad-clear"
                    >
                        "Clear"
                    </button>
                </div>
            </div>
            <div
                class="sigpad__panel"
                role="tabpanel"
                id=type_panel_id
                aria-labelledby=type_tab_id
                hidden=draw_selected
            >
                <label class="field__label" for=input_id.clone()>
                    {input_label}
                </label>
                <input
                    class="field__input sigpad__input"
                    id=input_id
                    type="text"
                    autocomplete=if kind == PadKind::Signature { "name" } else { "off" }
                    autocapitalize="words"
                    spellcheck="false"
                    maxlength=if kind == PadKind::Signature { "80" } else { "6" }
                    // The attribute for the server's markup, the property to follow the signal.
                    value=typed.get_untracked()
                    prop:value=typed
                    on:input=move |ev| {
                        typed.set(event_target_value(&ev));
                        error.set(None);
                    }
                    data-testid="sigpad-input"
                />
                <p class="sigpad__typed" aria-hidden="true" data-testid="sigpad-typed">
                    {move || typed.get()}
                </p>
            </div>
            <p class="sigpad__error" role="alert" data-testid="sigpad-error">
                {move || error.get()}
            </p>
            <div class="sigpad__actions">
                <button type="button" class="button button--quiet" on:click=move |_| on_cancel.run(())>
                    "Cancel"
                </button>
                <button
                    type="button"
                    class="button button--primary"
                    disabled=move || busy.get()
                    on:click=adopt
                    data-testid="sigpad-adopt"
                >
                    {adopt_label}
                </button>
            </div>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initials_are_the_first_letters_of_the_first_and_last_words() {
        assert_eq!(initials("Ada Lovelace"), "AL");
        assert_eq!(initials("  mary ann   evans "), "ME");
        assert_eq!(initials("Plato"), "P");
        assert_eq!(initials(""), "");
        assert_eq!(initials("   "), "");
    }

    #[test]
    fn initials_handle_accents_hyphens_and_stray_punctuation() {
        assert_eq!(initials("élodie durand"), "ÉD");
        assert_eq!(initials("Jean-Luc Picard"), "JP");
        assert_eq!(initials("(Bob) Smith -"), "BS");
        assert_eq!(initials("Dr. Strange"), "DS");
    }

    #[test]
    fn the_type_tab_proposes_the_name_or_its_initials() {
        assert_eq!(prefill(PadKind::Signature, "  Ada   Lovelace "), "Ada Lovelace");
        assert_eq!(prefill(PadKind::Initials, "Ada King Lovelace"), "AL");
    }

    #[test]
    fn an_empty_pad_says_what_to_do() {
        assert_eq!(empty_message(PadKind::Signature, Tab::Draw), "Draw your signature first.");
        assert_eq!(empty_message(PadKind::Initials, Tab::Type), "Type your initials first.");
    }

    #[test]
    fn heading_ids_differ_by_kind_so_both_pads_can_share_a_page() {
        assert_ne!(title_id(PadKind::Signature), title_id(PadKind::Initials));
    }

    #[cfg(feature = "ssr")]
    fn rendered(kind: PadKind) -> String {
        Owner::new().with(|| {
            view! { <SignaturePad kind signer_name="Ada Lovelace" on_done=|_| () on_cancel=|_| () /> }.to_html()
        })
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn the_server_renders_tabs_canvas_and_buttons_without_inline_styles() {
        let html = rendered(PadKind::Signature);
        // The Content-Security-Policy (style-src 'self') would drop a style attribute.
        assert!(!html.contains("style="), "{html}");
        for needle in [
            r#"role="tablist""#,
            r#"role="tab""#,
            r#"aria-selected="true""#,
            r#"role="tabpanel""#,
            r#"aria-label="Signature drawing area""#,
            "Sign above the line",
            "Undo last stroke",
            "Clear",
            "Cancel",
            "Adopt and sign",
            r#"value="Ada Lovelace""#,
            r#"id="sigpad-signature-title""#,
        ] {
            assert!(html.contains(needle), "missing {needle} in {html}");
        }
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn the_initials_pad_proposes_initials() {
        let html = rendered(PadKind::Initials);
        assert!(html.contains(r#"value="AL""#), "{html}");
        assert!(html.contains("sigpad--initials"));
    }
}
