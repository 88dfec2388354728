//! Who may see and change a document: the one access policy both front doors (the web app's
//! server functions and the REST API) ask, so a rule cannot differ between them.
//!
//! Owners and admins review every document; members see their own. Only a document's owner
//! prepares, sends, voids or resends it (an admin reviews, they do not act in someone's name).
//! An API key reaches what its user sees only with the `admin` scope; otherwise its user's own
//! documents.

use crate::accounts::{Role, User, UserId};

/// Whoever asks, as the policy sees them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Principal {
    pub user: UserId,
    pub role: Role,
    /// How they came: a browser session, or an API key and whether it holds the `admin` scope.
    pub via: Via,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    Session,
    ApiKey { admin_scope: bool },
}

impl Principal {
    /// A signed-in person in the browser.
    pub fn session(user: &User) -> Self {
        Self { user: user.id, role: user.role, via: Via::Session }
    }

    /// A user acting through one of their API keys.
    pub fn api_key(user: &User, admin_scope: bool) -> Self {
        Self { user: user.id, role: user.role, via: Via::ApiKey { admin_scope } }
    }

    /// Whether every document is in reach, not only their own.
    pub fn sees_all(&self) -> bool {
        let reviewer = matches!(self.role, Role::Owner | Role::Admin);
        reviewer && self.via != Via::ApiKey { admin_scope: false }
    }

    /// Whether a document owned by `owner` may be seen (read, downloaded, followed).
    pub fn may_see(&self, owner: UserId) -> bool {
        self.user == owner || self.sees_all()
    }

    /// Whether a document owned by `owner` may be changed (prepared, sent, voided, resent).
    pub fn may_manage(&self, owner: UserId) -> bool {
        self.user == owner
    }

    /// Whether legal holds may be placed and released (on any document in reach): owners and
    /// admins, in the browser or through an `admin`-scoped key. A hold is a compliance act, not
    /// the sender's: a member cannot hold their own document (nor release a hold on it).
    pub fn may_hold(&self) -> bool {
        self.role.can_administer() && self.sees_all()
    }

    /// The owner a document list is limited to; `None`: everyone's.
    pub fn list_filter(&self) -> Option<UserId> {
        (!self.sees_all()).then_some(self.user)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(role: Role, via: Via) -> Principal {
        Principal { user: UserId(1), role, via }
    }

    #[test]
    fn members_see_their_own_and_reviewers_see_all_but_only_owners_manage() {
        let mine = UserId(1);
        let theirs = UserId(2);
        for via in [Via::Session, Via::ApiKey { admin_scope: true }] {
            let member = principal(Role::Member, via);
            assert!(member.may_see(mine) && !member.may_see(theirs));
            assert_eq!(member.list_filter(), Some(mine));
            for role in [Role::Admin, Role::Owner] {
                let reviewer = principal(role, via);
                assert!(reviewer.may_see(theirs), "{role:?} via {via:?}");
                assert!(reviewer.may_manage(mine) && !reviewer.may_manage(theirs));
                assert_eq!(reviewer.list_filter(), None);
            }
        }
    }

    #[test]
    fn a_key_without_the_admin_scope_reaches_only_its_users_documents() {
        let admin = principal(Role::Admin, Via::ApiKey { admin_scope: false });
        assert!(admin.may_see(UserId(1)) && !admin.may_see(UserId(2)));
        assert_eq!(admin.list_filter(), Some(UserId(1)));
    }

    #[test]
    fn only_owners_and_admins_hold_documents_and_a_narrow_key_does_not() {
        for (role, may) in [(Role::Owner, true), (Role::Admin, true), (Role::Member, false)] {
            assert_eq!(principal(role, Via::Session).may_hold(), may, "{role:?}");
            assert_eq!(principal(role, Via::ApiKey { admin_scope: true }).may_hold(), may, "{role:?} admin key");
            assert!(!principal(role, Via::ApiKey { admin_scope: false }).may_hold(), "{role:?} narrow key");
        }
    }
}
