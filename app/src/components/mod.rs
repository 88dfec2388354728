pub mod form;
pub mod layout;
pub mod legal_hold;
pub mod pdf_pages;
pub mod schedule;
pub mod session_watch;
pub mod signature_pad;
