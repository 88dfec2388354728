//! Leaves a page the moment its session ends elsewhere.
//!
//! Two signals, because neither alone is enough:
//! - **Same browser**: a sign-out in one tab is announced on a `BroadcastChannel`; every other
//!   tab of this origin hears it at once and goes to the sign-in page.
//! - **Anywhere else** (another device, an admin disabling the account, a revoked session): every
//!   [`CHECK_EVERY_MS`] the tab asks `GET /auth/session`, which answers `{"signed_in": …}` from
//!   the session cookie alone; it also asks when the tab regains focus. "No" sends it to sign-in.
//!
//! Nothing here reads a credential: the cookie is httpOnly and only the browser sends it.

use leptos::prelude::*;

/// The channel every tab of the app listens on.
pub const CHANNEL: &str = "attesta-session";
/// The message that says "signed out in this browser".
pub const SIGNED_OUT: &str = "signed-out";
/// How often an open tab checks its session: under the 5 seconds a user may wait.
pub const CHECK_EVERY_MS: u64 = 3_000;
/// Where a tab goes once its session has ended.
pub const SIGNED_OUT_PAGE: &str = "/login?signed_out=1";

#[cfg(feature = "hydrate")]
thread_local! {
    /// Set while this tab signs out itself: it goes where the sign-out sends it, and must not
    /// also follow its own announcement or a session check that sees the sign-out first.
    static LEAVING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Marks this tab as signing out on its own (`true` while the request runs; `false` again if
/// it failed).
pub fn set_leaving(leaving: bool) {
    #[cfg(feature = "hydrate")]
    LEAVING.set(leaving);
    #[cfg(not(feature = "hydrate"))]
    let _ = leaving;
}

/// Tells the other tabs of this browser that the user signed out.
pub fn announce_sign_out() {
    #[cfg(feature = "hydrate")]
    if let Ok(channel) = web_sys::BroadcastChannel::new(CHANNEL) {
        LEAVING.set(true);
        let _ = channel.post_message(&wasm_bindgen::JsValue::from_str(SIGNED_OUT));
        channel.close();
    }
}

/// Mounted while a user is signed in: watches for the session ending and leaves when it does.
#[component]
pub fn SessionWatch() -> impl IntoView {
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| watch::start());
}

#[cfg(feature = "hydrate")]
mod watch {
    use super::*;
    use send_wrapper::SendWrapper;
    use wasm_bindgen::JsCast as _;
    use wasm_bindgen::closure::Closure;

    fn leave() {
        if LEAVING.get() {
            return; // this tab signed out itself and is already on its way
        }
        if let Some(window) = web_sys::window() {
            let _ = window.location().set_href(SIGNED_OUT_PAGE);
        }
    }

    fn check() {
        leptos::task::spawn_local(async {
            let Some(window) = web_sys::window() else { return };
            let Ok(response) = wasm_bindgen_futures::JsFuture::from(window.fetch_with_str("/auth/session")).await
            else {
                return; // offline or the server restarting: ask again next time
            };
            let Ok(response) = response.dyn_into::<web_sys::Response>() else { return };
            if !response.ok() {
                return; // the server could not tell: ask again next time
            }
            let Ok(body) = response.json() else { return };
            let Ok(body) = wasm_bindgen_futures::JsFuture::from(body).await else { return };
            let signed_in = js_sys::Reflect::get(&body, &wasm_bindgen::JsValue::from_str("signed_in"))
                .ok()
                .and_then(|v| v.as_bool());
            if signed_in == Some(false) {
                leave();
            }
        });
    }

    pub fn start() {
        let Some(window) = web_sys::window() else { return };

        let channel = web_sys::BroadcastChannel::new(CHANNEL).ok();
        let on_message = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(|event: web_sys::MessageEvent| {
            if event.data().as_string().as_deref() == Some(SIGNED_OUT) {
                leave();
            }
        });
        if let Some(channel) = &channel {
            channel.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        }

        let on_focus = Closure::<dyn FnMut()>::new(check);
        let _ = window.add_event_listener_with_callback("focus", on_focus.as_ref().unchecked_ref());

        let interval = set_interval_with_handle(check, std::time::Duration::from_millis(CHECK_EVERY_MS)).ok();

        let held = SendWrapper::new((channel, on_message, on_focus));
        on_cleanup(move || {
            if let Some(handle) = interval {
                handle.clear();
            }
            let (channel, _on_message, on_focus) = held.take();
            if let Some(channel) = channel {
                channel.set_onmessage(None);
                channel.close();
            }
            if let Some(window) = web_sys::window() {
                let _ = window.remove_event_listener_with_callback("focus", on_focus.as_ref().unchecked_ref());
            }
        });
    }
}
