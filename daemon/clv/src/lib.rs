//! Customer lifetime value models.
