//! Values of API groups, environments and APIs (spec §3.1–3.4) that parse.
