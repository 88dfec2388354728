//! Form building blocks that keep labels, hints and errors wired for assistive technology.

use crate::error::AppError;
use leptos::prelude::*;

/// A labelled input. `error` is the latest result of the form's action; when it is a validation
/// error about this field, the message shows under the input and the input is marked invalid.
#[component]
pub fn Field(
    name: &'static str,
    label: &'static str,
    #[prop(default = "text")] kind: &'static str,
    #[prop(optional)] autocomplete: &'static str,
    #[prop(optional)] hint: &'static str,
    #[prop(optional)] minlength: Option<u32>,
    #[prop(default = true)] required: bool,
    #[prop(into)] error: Signal<Option<AppError>>,
) -> impl IntoView {
    let id = format!("field-{name}");
    let hint_id = format!("{id}-hint");
    let error_id = format!("{id}-error");
    let message = move || error.get().filter(|e| e.field() == Some(name)).map(|e| e.to_string());
    let described = {
        let hint_id = hint_id.clone();
        let error_id = error_id.clone();
        move || {
            let mut ids = Vec::new();
            if !hint.is_empty() {
                ids.push(hint_id.clone());
            }
            if message().is_some() {
                ids.push(error_id.clone());
            }
            (!ids.is_empty()).then(|| ids.join(" "))
        }
    };
    view! {
        <div class="field" class:field--invalid=move || message().is_some()>
            <label class="field__label" for=id.clone()>
                {label}
            </label>
            {(!hint.is_empty())
                .then(|| {
                    view! {
                        <p class="field__hint" id=hint_id.clone()>
                            {hint}
                        </p>
                    }
                })}
            <input
                class="field__input"
                id=id.clone()
                name=name
                type=kind
                autocomplete=(!autocomplete.is_empty()).then_some(autocomplete)
                minlength=minlength
                required=required
                aria-invalid=move || message().is_some().then_some("true")
                aria-describedby=described
            />
            {move || {
                message()
                    .map(|m| {
                        view! {
                            <p class="field__error" id=error_id.clone()>
                                {m}
                            </p>
                        }
                    })
            }}
        </div>
    }
}

/// The error of a form that is not about one field (wrong password, throttled, server trouble).
#[component]
pub fn FormError(#[prop(into)] error: Signal<Option<AppError>>) -> impl IntoView {
    let message = move || error.get().filter(|e| e.field().is_none()).map(|e| e.to_string());
    view! {
        <div class="form-error" role="alert" aria-live="assertive" data-testid="form-error">
            {move || message().map(|m| view! { <p class="alert alert--error">{capitalise(&m)}</p> })}
        </div>
    }
}

fn capitalise(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect::<String>() + ".",
        None => String::new(),
    }
}
