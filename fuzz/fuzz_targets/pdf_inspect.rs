//! `attesta_core::documents::pdf::inspect` on arbitrary bytes: it must return a verdict (accept or
//! refuse) for any input, never panic, hang or exhaust memory.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = attesta_core::documents::pdf::inspect(data);
});
