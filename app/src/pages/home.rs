//! Home: the signed-in user's documents. Until uploading exists this is the empty state.

use crate::components::layout::RequireUser;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn HomePage() -> impl IntoView {
    view! {
        <Title text="Documents" />
        <RequireUser>
            <section class="page" aria-labelledby="documents-heading">
                <div class="page__header">
                    <h1 id="documents-heading">"Documents"</h1>
                </div>
                <div class="empty-state" data-testid="documents-empty">
                    <svg class="empty-state__icon" viewBox="0 0 48 48" aria-hidden="true">
                        <path d="M12 4h16l10 10v30H12z" fill="none" stroke="currentColor" stroke-width="2" />
                        <path d="M28 4v10h10M18 26h14M18 32h14M18 38h8" fill="none" stroke="currentColor" stroke-width="2" />
                    </svg>
                    <h2>"No documents yet"</h2>
                    <p>
                        "Documents you upload and send for signature will be listed here, each with its status and its audit trail."
                    </p>
                    <p class="empty-state__next">
                        <strong>"Next step: "</strong>
                        "uploading PDFs is the next feature to arrive in this instance. Until then, you can invite colleagues with "
                        <code>"attesta user create"</code>
                        " on the server."
                    </p>
                </div>
            </section>
        </RequireUser>
    }
}
