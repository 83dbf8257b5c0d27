//! Scenario kinds: the one registry ([`KINDS`]) that `generate`,
//! `validate`, `new`, `schema`, `verify` and the docs test all read. A kind
//! brings only its model: its file schema and validation, a starter file,
//! its tables and the checks `verify` adds; seeding, calendars, curves,
//! distributions, the Parquet writer, the manifest and the output
//! directory are shared.

pub mod authoring;
pub mod clickstream;
pub mod retail;
pub mod weather;

use std::path::Path;

use crate::error::{Error, Result};
use crate::report::figure::Figures;
use crate::scenario::document::Document;
use crate::scenario::KitchenScenario;
use crate::sinks::manifest::Manifest;
use crate::streams::StreamSpec;
use crate::verify::Problems;
use clickstream::ClickstreamScenario;
use retail::RetailScenario;
use weather::WeatherScenario;

/// A validated scenario of some kind.
#[allow(clippy::large_enum_variant)] // one per run: boxing would buy nothing
pub enum Model {
    GhostKitchen(KitchenScenario),
    Retail(RetailScenario),
    Weather(WeatherScenario),
    Clickstream(ClickstreamScenario),
}

/// A file a starter scenario reads, relative to the starter's folder.
pub struct StarterFile {
    pub path: &'static str,
    pub content: &'static str,
}

/// A fully commented scenario of the kind that generates as written.
pub struct Starter {
    pub text: &'static str,
    /// Lines of `text` to replace when the starter is written elsewhere:
    /// (line as shipped, line with `{name}` / `{tables}` placeholders).
    pub rewrites: &'static [(&'static str, &'static str)],
    /// Files it reads, under `{tables}` (the starter's stem + `-tables`).
    pub files: &'static [StarterFile],
}

/// One scenario kind.
pub struct Kind {
    pub name: &'static str,
    pub summary: &'static str,
    /// The JSON Schema of its scenario file (schemars, from its serde types).
    pub schema: fn() -> serde_json::Value,
    pub load: fn(&Document) -> Result<Model>,
    pub starter: Starter,
    /// Checks `verify` adds to the shared ones; returns what it found, for the report.
    pub verify: fn(&Path, &Manifest, &mut Problems) -> Result<String>,
    /// Its streams, in the order ties in time are broken (see [`crate::streams`]).
    pub streams: fn() -> Vec<StreamSpec>,
    /// Other `(table, time column)`s whose rows lie inside the window,
    /// which replay checks besides the streams.
    pub windowed: &'static [(&'static str, &'static str)],
    /// Per stream, the columns that identify a record (a disordered
    /// stream's default `id`; otherwise its key and time).
    pub ids: &'static [(&'static str, &'static [&'static str])],
    /// Time-bounded joins between its tables whose matches `truth/` counts.
    pub joins: fn(&Manifest) -> Vec<crate::disorder::JoinSpec>,
    /// The tables that grow with time, written as parts by a shard, and
    /// their columns' encodings (which `merge` writes them with again).
    pub streamed: &'static [(&'static str, &'static [crate::sinks::Special])],
    /// `simkit report`: its headline numbers and figures, from the dataset's files.
    pub report: fn(&Path, &Manifest) -> Result<Figures>,
}

const CASPERS_TABLES: &[StarterFile] = &[
    StarterFile { path: "brands.csv", content: include_str!("../../data/caspers/brands.csv") },
    StarterFile { path: "menus.csv", content: include_str!("../../data/caspers/menus.csv") },
    StarterFile { path: "categories.csv", content: include_str!("../../data/caspers/categories.csv") },
    StarterFile { path: "items.csv", content: include_str!("../../data/caspers/items.csv") },
    StarterFile { path: "brand_locations.csv", content: include_str!("../../data/caspers/brand_locations.csv") },
];

/// Every kind simkit knows; the first is the default.
pub const KINDS: &[Kind] = &[
    Kind {
        name: "ghost_kitchen",
        summary: "delivery kitchens: orders, their lifecycle events, driver routes on real or synthetic roads",
        schema: crate::scenario::kitchen::schema,
        load: |doc| KitchenScenario::from_document(doc).map(Model::GhostKitchen),
        starter: Starter {
            text: include_str!("../../scenarios/caspers.toml"),
            rewrites: &[
                ("name = \"caspers\"", "name = \"{name}\""),
                (
                    "dir = \"../data/caspers\"   # relative to this file; brands.csv, menus.csv, categories.csv, items.csv, brand_locations.csv",
                    "dir = \"{tables}\"   # relative to this file; brands.csv, menus.csv, categories.csv, items.csv, brand_locations.csv",
                ),
            ],
            files: CASPERS_TABLES,
        },
        verify: crate::verify::kitchen_checks,
        streams: crate::sinks::kitchen_streams,
        windowed: &[("orders", "created_at")],
        ids: &[("events", &["order_id", "sequence"])],
        joins: |_| Vec::new(),
        streamed: crate::sinks::KITCHEN_STREAMED,
        report: crate::report::kitchen::report,
    },
    Kind {
        name: "retail",
        summary: "a shop: transactions of line items, inventory and restocks, lost sales, price changes",
        schema: retail::schema,
        load: |doc| RetailScenario::from_document(doc).map(Model::Retail),
        starter: Starter {
            text: include_str!("../../scenarios/smoothie.toml"),
            rewrites: &[
                ("name = \"smoothie\"", "name = \"{name}\""),
                (
                    "products = \"../data/smoothie/products.csv\"   # relative to this file",
                    "products = \"{tables}/products.csv\"   # relative to this file",
                ),
            ],
            files: &[StarterFile { path: "products.csv", content: include_str!("../../data/smoothie/products.csv") }],
        },
        verify: retail::checks::verify,
        streams: retail::tables::streams,
        windowed: &[],
        ids: &[("purchases", &["transaction_id", "product_id"])],
        joins: |_| Vec::new(),
        streamed: retail::tables::STREAMED,
        report: retail::figures::report,
    },
    Kind {
        name: "weather",
        summary: "weather stations: one report per station per day (temperature, rain)",
        schema: weather::schema,
        load: |doc| WeatherScenario::from_document(doc).map(Model::Weather),
        starter: Starter {
            text: include_str!("../../scenarios/weather.toml"),
            rewrites: &[("name = \"weather\"", "name = \"{name}\"")],
            files: &[],
        },
        verify: weather::checks::verify,
        streams: weather::tables::streams,
        windowed: &[],
        ids: &[("reports", &["station", "date"])],
        joins: |_| Vec::new(),
        streamed: weather::tables::STREAMED,
        report: weather::figures::report,
    },
    Kind {
        name: "clickstream",
        summary: "web users: sessions of events as a Markov chain, ad impressions, clicks and orphan clicks",
        schema: clickstream::schema,
        load: |doc| ClickstreamScenario::from_document(doc).map(Model::Clickstream),
        starter: Starter {
            text: include_str!("../../scenarios/clickstream.toml"),
            rewrites: &[("name = \"clickstream\"", "name = \"{name}\"")],
            files: &[],
        },
        verify: clickstream::checks::verify,
        streams: clickstream::tables::streams,
        windowed: &[],
        ids: &[("events", &["event_id"]), ("impressions", &["impression_id"]), ("clicks", &["click_id"])],
        joins: clickstream::tables::joins,
        streamed: clickstream::tables::STREAMED,
        report: clickstream::figures::report,
    },
];

/// The kind called `name`.
pub fn find(name: &str) -> Option<&'static Kind> {
    KINDS.iter().find(|k| k.name == name)
}

/// "unknown kind" in the user's terms, with a suggestion.
pub fn unknown(name: &str) -> String {
    let hint = crate::scenario::shape::suggestion(name, KINDS.iter().map(|k| k.name))
        .map(|k| format!(" (did you mean \"{k}\"?)"))
        .unwrap_or_default();
    let known: Vec<String> = KINDS.iter().map(|k| format!("\"{}\"", k.name)).collect();
    format!("expected a scenario kind ({}), found {name:?}{hint}", known.join(", "))
}

/// The kind named `name`, or an error in the user's terms.
pub fn lookup(name: &str) -> Result<&'static Kind> {
    find(name).ok_or_else(|| Error(unknown(name)))
}

impl Model {
    pub fn kind(&self) -> &'static Kind {
        let name = match self {
            Model::GhostKitchen(_) => "ghost_kitchen",
            Model::Retail(_) => "retail",
            Model::Weather(_) => "weather",
            Model::Clickstream(_) => "clickstream",
        };
        find(name).expect("every model has a registered kind")
    }

    pub fn name(&self) -> &str {
        match self {
            Model::GhostKitchen(k) => &k.name,
            Model::Retail(r) => &r.name,
            Model::Weather(w) => &w.name,
            Model::Clickstream(c) => &c.name,
        }
    }

    /// The days the scenario runs.
    pub fn days(&self) -> u32 {
        match self {
            Model::GhostKitchen(k) => k.calendar.days,
            Model::Retail(r) => r.calendar.days,
            Model::Weather(w) => w.calendar.days,
            Model::Clickstream(c) => c.calendar.days,
        }
    }

    /// What a run would produce, for `validate`.
    pub fn summary(&self) -> String {
        match self {
            Model::GhostKitchen(k) => k.summary(),
            Model::Retail(r) => r.summary(),
            Model::Weather(w) => w.summary(),
            Model::Clickstream(c) => c.summary(),
        }
    }
}
