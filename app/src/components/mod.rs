pub mod form;
pub mod layout;
pub mod pdf_pages;
pub mod session_watch;
pub mod signature_pad;
