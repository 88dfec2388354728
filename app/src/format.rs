//! How numbers, sizes and times read on screen. The same on the server and in the browser, so
//! hydration never sees a different text.
//!
//! Times are the exception that proves it: [`Time`] renders UTC on the server and while
//! hydrating (a `<time datetime=…>` whose title keeps the UTC text), and only then, in the
//! browser, switches its text to the reader's own locale and time zone.

use leptos::prelude::*;

/// UTC microseconds as `2026-11-22 10:45:12 UTC`.
pub fn time(micros: i64) -> String {
    let secs = micros.div_euclid(1_000_000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC", rem / 3600, (rem % 3600) / 60, rem % 60)
}

/// UTC microseconds as an RFC 3339 instant, `2026-11-22T12:25:12Z`, for `<time datetime>`.
pub fn rfc3339(micros: i64) -> String {
    let secs = micros.div_euclid(1_000_000);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, (rem % 3600) / 60, rem % 60)
}

/// A moment as the reader reads it: their locale and time zone once the page runs in their
/// browser, UTC before that (the server cannot know either), with the UTC time on hover.
/// `date_only` shows the day without the time.
#[component]
pub fn Time(
    /// UTC microseconds.
    micros: i64,
    #[prop(optional)] date_only: bool,
    #[prop(optional)] class: &'static str,
) -> impl IntoView {
    let utc = if date_only { date(micros) } else { time(micros) };
    let local = RwSignal::new(None::<String>);
    // Effects run only in the browser, after hydration: the first render matches the server's.
    Effect::new(move |_| local.set(local_text(micros, date_only)));
    let shown = {
        let utc = utc.clone();
        move || local.get().unwrap_or_else(|| utc.clone())
    };
    view! {
        <time class=class datetime=rfc3339(micros) title=time(micros)>
            {shown}
        </time>
    }
}

/// The moment in the browser's locale and time zone (`None` outside a browser).
fn local_text(micros: i64, date_only: bool) -> Option<String> {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsValue;
        let date = js_sys::Date::new(&JsValue::from_f64(micros.div_euclid(1000) as f64));
        let options = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&options, &"dateStyle".into(), &"medium".into());
        if !date_only {
            let _ = js_sys::Reflect::set(&options, &"timeStyle".into(), &"medium".into());
        }
        let format = js_sys::Intl::DateTimeFormat::new(&js_sys::Array::new(), &options);
        let text = format.format().call1(&JsValue::UNDEFINED, &date).ok()?.as_string()?;
        Some(text)
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = (micros, date_only);
        None
    }
}

/// `text` cut into pieces after each `@` and `.` and before each `<`: where an email address
/// or a host name may wrap without breaking a word in two.
pub fn wrap_points(text: &str) -> Vec<String> {
    let mut pieces = vec![String::new()];
    for c in text.chars() {
        if c == '<' && !pieces.last().is_some_and(String::is_empty) {
            pieces.push(String::new());
        }
        pieces.last_mut().expect("never empty").push(c);
        if c == '@' || c == '.' {
            pieces.push(String::new());
        }
    }
    pieces.retain(|p| !p.is_empty());
    pieces
}

/// `text` with a line-break opportunity (`<wbr>`) at each of its [`wrap_points`].
#[component]
pub fn Wrappable(#[prop(into)] text: String) -> impl IntoView {
    wrap_points(&text)
        .into_iter()
        .enumerate()
        .map(|(i, piece)| view! { {(i > 0).then(|| view! { <wbr /> })} {piece} })
        .collect_view()
}

/// UTC microseconds as `2026-11-22`.
pub fn date(micros: i64) -> String {
    let (y, m, d) = civil_from_days(micros.div_euclid(1_000_000).div_euclid(86_400));
    format!("{y:04}-{m:02}-{d:02}")
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Bytes as `1.5 MB`.
pub fn size(bytes: u64) -> String {
    attesta_core::documents::human_bytes(bytes)
}

/// Percent-encodes `text` for a URL query value or an RFC 5987 `filename*`: everything but
/// ASCII letters, digits and `-_.~`.
pub fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// `1 page`, `12 pages`.
pub fn pages(n: u32) -> String {
    if n == 1 { "1 page".to_owned() } else { format!("{n} pages") }
}

#[cfg(test)]
mod tests {
    #[test]
    fn instants_are_rfc3339_in_utc() {
        assert_eq!(super::rfc3339(1_795_350_312_000_000), "2026-11-22T12:25:12Z");
        assert_eq!(super::rfc3339(-1_000_000), "1969-12-31T23:59:59Z");
    }

    #[test]
    fn emails_wrap_after_the_at_sign_and_dots_only() {
        assert_eq!(
            super::wrap_points("Ada Lovelace <ada.lovelace@example.com>"),
            ["Ada Lovelace ", "<ada.", "lovelace@", "example.", "com>"]
        );
        assert_eq!(super::wrap_points("system"), ["system"]);
        assert!(super::wrap_points("").is_empty());
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn the_server_renders_utc_in_a_time_element_with_the_utc_title() {
        use leptos::prelude::*;
        let html = Owner::new().with(|| view! { <super::Time micros=1_795_350_312_000_000 /> }.to_html());
        assert!(html.contains(r#"datetime="2026-11-22T12:25:12Z""#), "{html}");
        assert!(html.contains(r#"title="2026-11-22 12:25:12 UTC""#), "{html}");
        assert!(html.contains(">2026-11-22 12:25:12 UTC<"), "{html}");
    }

    #[test]
    fn times_are_utc_calendar_dates() {
        assert_eq!(super::time(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(super::time(1_795_350_312_000_000), "2026-11-22 12:25:12 UTC");
        assert_eq!(super::date(951_782_400_000_000), "2000-02-29");
        assert_eq!(super::time(-1_000_000), "1969-12-31 23:59:59 UTC");
    }
}
