//! Single sign-on with OpenID Connect: the rules that need no network.
//!
//! The server's adapter (`server/src/sso/`) talks to the provider and verifies its tokens; this
//! module decides what a verified identity may do here: sign in as the account it is linked to,
//! be linked to an existing local account with the same email (only when the instance allows
//! it), or get a new account (only when its email domain is allowed). It also names every way a
//! sign-in can be refused, with a code for the login page's URL and a message that says what a
//! person can do about it without revealing why in detail (the reason goes to the log).
//!
//! Invariants: an identity is only ever accepted with a verified email address; a disabled
//! account is refused whichever way it is reached; nobody is created when no domain is allowed.

use crate::accounts::{EmailAddress, User, UserId};

/// Why an SSO sign-in was refused. The variant travels to the login page as `code()` in the
/// query string (`/login?sso_error=<code>`), so the URL never carries provider text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SsoRefusal {
    /// SSO is not configured on this instance.
    NotConfigured,
    /// The person cancelled at the provider, or the provider refused them (`error=access_denied`).
    Cancelled,
    /// The provider answered with another error, or could not be reached.
    ProviderFailed,
    /// The callback did not belong to a sign-in this browser started (wrong, missing or already
    /// used `state`, or the attempt took too long).
    InvalidState,
    /// The code exchange or the ID token failed a check (signature, issuer, audience, nonce).
    InvalidToken,
    /// The ID token had expired.
    ExpiredToken,
    /// The provider did not vouch for the email address (`email_verified` not true), or gave none.
    EmailNotVerified,
    /// No account exists and the email's domain is not allowed to create one.
    DomainNotAllowed,
    /// A local account has this email and linking is off.
    AccountExists,
    /// The account is disabled.
    Disabled,
    /// Something failed on our side; the log has the details.
    Internal,
}

impl SsoRefusal {
    const ALL: [SsoRefusal; 11] = [
        SsoRefusal::NotConfigured,
        SsoRefusal::Cancelled,
        SsoRefusal::ProviderFailed,
        SsoRefusal::InvalidState,
        SsoRefusal::InvalidToken,
        SsoRefusal::ExpiredToken,
        SsoRefusal::EmailNotVerified,
        SsoRefusal::DomainNotAllowed,
        SsoRefusal::AccountExists,
        SsoRefusal::Disabled,
        SsoRefusal::Internal,
    ];

    /// The stable code used in the login page's URL.
    pub fn code(self) -> &'static str {
        match self {
            SsoRefusal::NotConfigured => "not_configured",
            SsoRefusal::Cancelled => "cancelled",
            SsoRefusal::ProviderFailed => "provider",
            SsoRefusal::InvalidState => "state",
            SsoRefusal::InvalidToken => "token",
            SsoRefusal::ExpiredToken => "expired",
            SsoRefusal::EmailNotVerified => "email_unverified",
            SsoRefusal::DomainNotAllowed => "domain",
            SsoRefusal::AccountExists => "account_exists",
            SsoRefusal::Disabled => "disabled",
            SsoRefusal::Internal => "internal",
        }
    }

    /// The refusal a code names; `None` for anything else (a hand-made URL).
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.code() == code)
    }

    /// What the login page says: what happened in general words, and what to do.
    pub fn message(self) -> &'static str {
        match self {
            SsoRefusal::NotConfigured => "Single sign-on is not set up on this server.",
            SsoRefusal::Cancelled => "Sign-in was cancelled at your identity provider.",
            SsoRefusal::ProviderFailed => {
                "Your identity provider could not complete the sign-in. Try again in a moment."
            }
            SsoRefusal::InvalidState => {
                "This sign-in link was already used or has expired. Start again with the sign-in button."
            }
            SsoRefusal::InvalidToken | SsoRefusal::ExpiredToken => {
                "The answer from your identity provider could not be verified. Try again; if it keeps \
                 happening, tell your administrator."
            }
            SsoRefusal::EmailNotVerified => "Your identity provider has not verified your email address.",
            SsoRefusal::DomainNotAllowed => {
                "There is no account for you here, and accounts for your email domain are not created \
                 automatically. Ask an administrator to invite you."
            }
            SsoRefusal::AccountExists => {
                "An account with your email address already exists here. Sign in with its password instead."
            }
            SsoRefusal::Disabled => "This account is disabled.",
            SsoRefusal::Internal => "Sign-in failed because of a problem on this server. Try again later.",
        }
    }
}

/// What the instance allows SSO to do with accounts (from configuration).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SsoPolicy {
    /// Email domains (lower case) whose people get an account on first sign-in.
    pub allowed_domains: Vec<String>,
    /// Whether a first SSO sign-in may take over the local account with the same email.
    pub link_existing_accounts: bool,
}

/// What to do with a verified identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SsoDecision {
    /// The identity is linked to this account already.
    SignIn(UserId),
    /// Link the identity to this existing local account, then sign in.
    Link(UserId),
    /// Create an account for this email, link the identity, then sign in.
    Create,
}

/// Decides what a verified identity may do.
///
/// `linked` is the account the identity (issuer, subject) is already linked to; `same_email` the
/// account with the identity's email, if any. A linked identity signs in even when its email has
/// changed at the provider; `email_verified` must still be true, since the email is what the
/// account shows and mails.
pub fn decide(
    linked: Option<&User>,
    same_email: Option<&User>,
    email: &EmailAddress,
    email_verified: bool,
    policy: &SsoPolicy,
) -> Result<SsoDecision, SsoRefusal> {
    if !email_verified {
        return Err(SsoRefusal::EmailNotVerified);
    }
    if let Some(user) = linked {
        return if user.disabled { Err(SsoRefusal::Disabled) } else { Ok(SsoDecision::SignIn(user.id)) };
    }
    if let Some(user) = same_email {
        if user.disabled {
            return Err(SsoRefusal::Disabled);
        }
        return if policy.link_existing_accounts {
            Ok(SsoDecision::Link(user.id))
        } else {
            Err(SsoRefusal::AccountExists)
        };
    }
    if domain_allowed(email, &policy.allowed_domains) {
        Ok(SsoDecision::Create)
    } else {
        Err(SsoRefusal::DomainNotAllowed)
    }
}

/// Whether `email`'s domain is exactly one of `allowed` (lower case). Subdomains are not
/// included: `mail.acme.com` is not `acme.com`, as a subdomain may be run by someone else.
pub fn domain_allowed(email: &EmailAddress, allowed: &[String]) -> bool {
    let Some((_, domain)) = email.as_str().rsplit_once('@') else { return false };
    allowed.iter().any(|a| a == domain)
}

/// A domain for `sso.allowed_domains`, in lower case: letters, digits, `-` and dots, with at
/// least one dot, no empty label, at most 253 characters.
pub fn parse_domain(input: &str) -> Result<String, String> {
    let domain = input.trim().to_ascii_lowercase();
    let labels_ok = domain.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    });
    if domain.len() > 253 || !domain.contains('.') || !labels_ok {
        return Err(format!("expected a domain such as example.com, got {input:?}"));
    }
    Ok(domain)
}

/// Where to go after signing in: a path on this site, or `/`.
///
/// Only an absolute path is accepted (`/documents?x=1`); anything that a browser could read as
/// another site (`//evil.example`, `/\evil.example`, a scheme) or that carries control
/// characters becomes `/`, so `?next=` can never make the sign-in an open redirect.
pub fn next_path(input: Option<&str>) -> String {
    let Some(path) = input else { return "/".to_owned() };
    let safe = path.starts_with('/')
        && !path.starts_with("//")
        && !path.starts_with("/\\")
        && path.len() <= 2000
        && !path.chars().any(|c| c.is_control() || c == '\\' || c.is_whitespace());
    if safe { path.to_owned() } else { "/".to_owned() }
}

/// The name a new account gets: the provider's name when it is usable, else the email's local
/// part (a name is required and the provider may send none).
pub fn account_name(name: Option<&str>, email: &EmailAddress) -> String {
    name.and_then(|n| crate::accounts::DisplayName::parse(n).ok())
        .map(String::from)
        .unwrap_or_else(|| email.as_str().split('@').next().unwrap_or("user").to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::{DisplayName, Role};
    use crate::time::Timestamp;

    fn user(id: i64, email: &str, disabled: bool) -> User {
        User {
            id: UserId(id),
            email: EmailAddress::parse(email).expect("valid email"),
            name: DisplayName::parse("Someone").expect("valid name"),
            role: Role::Member,
            disabled,
            session_generation: 0,
            created_at: Timestamp::from_micros(0),
        }
    }

    fn email(s: &str) -> EmailAddress {
        EmailAddress::parse(s).expect("valid email")
    }

    fn policy(domains: &[&str], link: bool) -> SsoPolicy {
        SsoPolicy { allowed_domains: domains.iter().map(|d| (*d).to_owned()).collect(), link_existing_accounts: link }
    }

    #[test]
    fn a_linked_identity_signs_in_as_its_account() {
        let u = user(7, "a@acme.com", false);
        let d = decide(Some(&u), None, &email("a@acme.com"), true, &policy(&[], false));
        assert_eq!(d, Ok(SsoDecision::SignIn(UserId(7))));
    }

    #[test]
    fn an_unverified_email_is_refused_even_for_a_linked_identity() {
        let u = user(7, "a@acme.com", false);
        let d = decide(Some(&u), None, &email("a@acme.com"), false, &policy(&["acme.com"], true));
        assert_eq!(d, Err(SsoRefusal::EmailNotVerified));
    }

    #[test]
    fn a_disabled_account_is_refused_however_it_is_reached() {
        let u = user(7, "a@acme.com", true);
        let p = policy(&["acme.com"], true);
        assert_eq!(decide(Some(&u), None, &email("a@acme.com"), true, &p), Err(SsoRefusal::Disabled));
        assert_eq!(decide(None, Some(&u), &email("a@acme.com"), true, &p), Err(SsoRefusal::Disabled));
    }

    #[test]
    fn an_existing_local_account_is_linked_only_when_allowed() {
        let u = user(3, "a@acme.com", false);
        let e = email("a@acme.com");
        assert_eq!(decide(None, Some(&u), &e, true, &policy(&["acme.com"], false)), Err(SsoRefusal::AccountExists));
        assert_eq!(decide(None, Some(&u), &e, true, &policy(&[], true)), Ok(SsoDecision::Link(UserId(3))));
    }

    #[test]
    fn new_people_get_an_account_only_from_allowed_domains() {
        let p = policy(&["acme.com"], false);
        assert_eq!(decide(None, None, &email("new@acme.com"), true, &p), Ok(SsoDecision::Create));
        assert_eq!(decide(None, None, &email("new@other.com"), true, &p), Err(SsoRefusal::DomainNotAllowed));
        assert_eq!(decide(None, None, &email("new@mail.acme.com"), true, &p), Err(SsoRefusal::DomainNotAllowed));
        assert_eq!(
            decide(None, None, &email("new@acme.com"), true, &policy(&[], false)),
            Err(SsoRefusal::DomainNotAllowed),
            "no allowed domain: nobody is created"
        );
    }

    #[test]
    fn domains_compare_case_insensitively_through_the_parsed_forms() {
        let allowed = vec![parse_domain("ACME.com").expect("valid domain")];
        assert!(domain_allowed(&email("Bob@Acme.COM"), &allowed));
    }

    #[test]
    fn configured_domains_must_look_like_domains() {
        assert_eq!(parse_domain(" Example.ORG ").as_deref(), Ok("example.org"));
        for bad in ["", "localhost", "a@b.com", ".com", "a..com", "-a.com", "a b.com", "*.acme.com"] {
            assert!(parse_domain(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn next_keeps_same_site_paths_only() {
        assert_eq!(next_path(Some("/documents/5?tab=x")), "/documents/5?tab=x");
        assert_eq!(next_path(None), "/");
        for bad in ["//evil.example", "/\\evil.example", "https://evil.example/", "evil", "/a\nb", "/a b", ""] {
            assert_eq!(next_path(Some(bad)), "/", "{bad:?} must not be followed");
        }
    }

    #[test]
    fn refusal_codes_round_trip_and_unknown_codes_are_ignored() {
        for r in SsoRefusal::ALL {
            assert_eq!(SsoRefusal::from_code(r.code()), Some(r));
            assert!(!r.message().is_empty());
        }
        assert_eq!(SsoRefusal::from_code("<script>"), None);
    }

    #[test]
    fn a_new_account_is_named_by_the_provider_or_by_the_email() {
        let e = email("grace.hopper@navy.mil");
        assert_eq!(account_name(Some("Grace Hopper"), &e), "Grace Hopper");
        assert_eq!(account_name(None, &e), "grace.hopper");
        assert_eq!(account_name(Some("  "), &e), "grace.hopper");
    }
}
