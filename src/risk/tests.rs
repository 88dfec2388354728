//! The engine on real contracts: every rule checked on the CUAD corpus's own clauses (read at
//! test time from `../shared/corpus/cuad`; skipped with a message when absent, failing under CI).
