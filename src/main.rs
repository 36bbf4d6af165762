//! `keepsake`: create, inspect, verify and import Keepsake archives from the
//! command line. A thin shell over the library: argument parsing, output
//! formatting and exit codes live here; everything else is a library call.

mod cli;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use cli::exit;
use cli::location::{Archive, ArchiveLocation};

const EXIT_STATUS: &str = "\
Exit status:
  0  success
  1  any other failure (a file or object that cannot be read or written, a
     storage request that failed after its retries, a database error, ...)
  2  usage: a bad command line, an invalid option value or an invalid key file
  3  wrong key: none of the keys, passphrases or identities given opens this archive
  4  damaged archive: not a Keepsake archive, truncated, corrupted, data after
     its end, or sizes over this reader's limits
  5  unsupported: the archive needs a newer Keepsake (format version, cipher
     suite, key slot kind or critical chunk kind this version does not know)
  6  salvage only: a new archive was written, but some content was lost
  7  untrusted: `--trusted-signer` (verify, import, restore) found the archive
     intact but not validly signed by that signer (scheme 2, bound to the file
     key); nothing was written";

/// Encrypted, streaming backups of messaging data.
#[derive(Debug, Parser)]
#[command(name = "keepsake", version, after_help = EXIT_STATUS)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Generate a new random 256-bit archive key (or, with --x25519, an
    /// identity; with --ed25519, a signing key) and write it to a file.
    Keygen {
        /// Where to write the key (64 hex characters and a newline). An existing
        /// file is never overwritten.
        #[arg(long, value_name = "KEYFILE")]
        out: PathBuf,
        /// Make an X25519 identity instead, and print its recipient
        /// (`keepsake1...`) for `create --recipient`.
        #[arg(long, conflicts_with = "ed25519")]
        x25519: bool,
        /// Make an Ed25519 signing key instead, and print its signer
        /// (`keepsakesig1...`) for `verify --trusted-signer`.
        #[arg(long)]
        ed25519: bool,
        /// Print one JSON object on stdout instead of a summary.
        #[arg(long)]
        json: bool,
    },
    /// Write a database of realistic sample conversations, messages and consent.
    Sample(SampleArgs),
    /// Back up a database into a new encrypted archive.
    #[command(after_help = EXIT_STATUS)]
    Create(CreateArgs),
    /// Estimate how large the archive of a database would be, without writing it.
    #[command(after_help = EXIT_STATUS)]
    Estimate(EstimateArgs),
    /// Show an archive's metadata and record counts without decoding its body.
    #[command(after_help = EXIT_STATUS)]
    Inspect(InspectArgs),
    /// Decode and authenticate every chunk of an archive, writing nothing.
    #[command(after_help = EXIT_STATUS)]
    Verify(VerifyArgs),
    /// Import an archive into a database: all or nothing, keeping existing rows.
    #[command(after_help = EXIT_STATUS)]
    Import(ImportArgs),
    /// Copy every chunk that still authenticates in a damaged archive into a
    /// new archive, and report the chunks lost.
    #[command(after_help = EXIT_STATUS)]
    Salvage(SalvageArgs),
    /// Rebuild a database from a pages archive (`create --mode pages`) as a new file.
    #[command(after_help = EXIT_STATUS)]
    Restore(RestoreArgs),
    /// List, add or remove an archive's key slots without re-encrypting it.
    /// Removing a slot does not revoke a key; rekey does.
    #[command(subcommand, after_help = EXIT_STATUS)]
    Slots(SlotsCommand),
    /// Copy an archive under a new file key for the keys named with --to-*:
    /// any other key, removed slots included, opens nothing of the copy.
    #[command(after_help = EXIT_STATUS)]
    Rekey(RekeyArgs),
    /// Run sample, create, inspect, import and verify in a temporary directory.
    Demo(DemoArgs),
    /// Time create, verify and import on a sample database next to sqlite3
    /// .backup, zstd, age and SQLite's own INSERT ... SELECT.
    Bench(BenchArgs),
    /// One operation of `bench`, in a process of its own.
    #[command(name = "bench-step", hide = true)]
    BenchStep {
        #[command(subcommand)]
        step: cli::bench::Step,
    },
}

#[derive(Debug, Args)]
struct SampleArgs {
    /// The database to create; it must not exist yet.
    #[arg(long, value_name = "DB")]
    db: PathBuf,
    /// How many messages to write.
    #[arg(long, value_name = "N", default_value_t = cli::DEFAULT_SAMPLE_MESSAGES)]
    messages: u64,
    /// How many conversations to spread them over.
    #[arg(long, value_name = "N", default_value_t = cli::DEFAULT_SAMPLE_CONVERSATIONS)]
    conversations: u64,
    /// The seed of the generator: the same seed writes the same data.
    #[arg(long, value_name = "S", default_value_t = 1)]
    seed: u64,
    /// What the messages hold.
    #[arg(long, value_enum, default_value_t = Shape::Mixed)]
    shape: Shape,
    /// The order the rows are written in: `sync`, as a client fills its
    /// database while it syncs (every conversation's messages interleaved in
    /// time order), or `grouped`, each conversation's messages together.
    #[arg(long, value_enum, default_value_t = Order::Sync)]
    order: Order,
    /// Print one JSON object on stdout instead of a summary.
    #[arg(long)]
    json: bool,
}

/// The order a sample's rows are written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Order {
    /// As a client's database fills while it syncs: interleaved in time order.
    Sync,
    /// Each conversation followed by all its messages.
    Grouped,
}

/// What the messages of a sample hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Shape {
    /// Mostly short texts, with reactions, replies and small attachments.
    Mixed,
    /// Short texts, reactions and replies only.
    TextHeavy,
    /// A quarter of the messages are attachments of 5 to 200 KB, most of them
    /// incompressible (about 25 MB per thousand messages).
    AttachmentHeavy,
}

/// The kinds of data an archive can carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Element {
    /// Conversations and their messages.
    Messages,
    /// Consent preferences.
    Consent,
}

#[derive(Debug, Args)]
struct CreateArgs {
    /// The database to back up.
    #[arg(long, value_name = "DB")]
    db: PathBuf,
    /// The archive to write: a path, or an object URL such as
    /// s3://bucket/key. An existing one is replaced only with --replace.
    #[arg(long, value_name = "ARCHIVE", value_parser = cli::location::parse_location)]
    out: ArchiveLocation,
    /// Replace an existing archive at --out; the new one takes its place
    /// only once it is whole.
    #[arg(long)]
    replace: bool,
    #[command(flatten)]
    write_for: cli::keys::WriteFor,
    #[command(flatten)]
    store: cli::location::StoreArgs,
    /// Sign the archive with this Ed25519 signing key (from `keepsake keygen --ed25519`).
    #[arg(long, value_name = "SIGNING_KEY")]
    sign_with: Option<PathBuf>,
    /// What to archive: the rows (conversations, messages, consent), or a
    /// snapshot of the whole database as SQLite pages, rebuilt with `restore`.
    #[arg(long, value_enum, default_value_t = CreateMode::Rows)]
    mode: CreateMode,
    #[command(flatten)]
    selection: SelectionArgs,
    /// Print one JSON object on stdout instead of a summary.
    #[arg(long)]
    json: bool,
}

/// What `create` archives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum CreateMode {
    /// Records, selected with --since, --until and --elements; read back with `import`.
    Rows,
    /// Every page of the database, taken in one read transaction; read back with `restore`.
    Pages,
}

#[derive(Debug, Args)]
struct RestoreArgs {
    /// The pages archive to restore.
    #[arg(value_name = "ARCHIVE", value_parser = cli::location::parse_location)]
    archive: ArchiveLocation,
    /// The database to write; it must not exist yet.
    #[arg(long, value_name = "NEW_DB")]
    out: PathBuf,
    #[command(flatten)]
    open_with: cli::keys::OpenWith,
    /// Restore nothing (exit 7) unless the archive is intact and carries a
    /// valid signature by this signer (`keepsakesig1...`).
    #[arg(long, value_name = "SIGNER")]
    trusted_signer: Option<String>,
    /// Keep the triggers and views of the archive's database. By default they
    /// are removed: they run SQL chosen by whoever wrote the archive whenever
    /// the application writes to a table or reads a view. Keep them only for
    /// an archive you made yourself.
    #[arg(long)]
    keep_triggers_and_views: bool,
    /// Check the restored database with SQLite's full integrity_check (every
    /// index against its table; several times slower) instead of quick_check.
    #[arg(long)]
    full_check: bool,
    #[command(flatten)]
    store: cli::location::StoreArgs,
    #[command(flatten)]
    limits: cli::limits::ReaderLimitsArgs,
    /// Print one JSON object on stdout instead of a summary.
    #[arg(long)]
    json: bool,
}

/// What goes into an archive, and how it is chunked and compressed.
#[derive(Debug, Args)]
struct SelectionArgs {
    /// Only messages sent at or after T (inclusive). T is RFC 3339, such as
    /// 2026-01-01T00:00:00Z, or integer nanoseconds since the Unix epoch.
    #[arg(long, value_name = "T", value_parser = cli::units::parse_time)]
    since: Option<i64>,
    /// Only messages sent before T (exclusive), in the same forms as --since.
    #[arg(long, value_name = "T", value_parser = cli::units::parse_time)]
    until: Option<i64>,
    /// Which kinds of data to include, comma-separated; a conversation travels
    /// with any of its messages that do [default: messages,consent].
    #[arg(long, value_name = "KINDS", value_enum, value_delimiter = ',')]
    elements: Option<Vec<Element>>,
    /// The zstd compression level, 1 (fastest) to 22 (smallest).
    #[arg(long, value_name = "N", default_value_t = keepsake::WriterOptions::default().level,
          value_parser = clap::value_parser!(i32).range(1..=22))]
    level: i32,
    /// The largest chunk before compression: bytes, or with a KiB or MiB suffix
    /// (4KiB to 64MiB) [default: 1MiB]. Readers accept chunks of up to 4MiB
    /// unless given `--max-chunk-size`: above that, every command that reads
    /// the archive needs that option.
    #[arg(long, value_name = "BYTES", value_parser = cli::units::parse_chunk_size)]
    chunk_size: Option<u32>,
    /// Worker threads compressing and encrypting chunks [default: one per core].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1024))]
    threads: Option<u16>,
}

impl SelectionArgs {
    fn request(self) -> cli::SelectionRequest {
        let elements = self.elements.map(|chosen| keepsake::Elements {
            messages: chosen.contains(&Element::Messages),
            consent: chosen.contains(&Element::Consent),
        });
        let elements_given = elements.is_some();
        cli::SelectionRequest {
            since: self.since,
            until: self.until,
            elements_given,
            elements: elements.unwrap_or_default(),
            level: self.level,
            chunk_size: self.chunk_size,
            threads: self.threads.map(usize::from),
        }
    }
}

#[derive(Debug, Args)]
struct EstimateArgs {
    /// The database to estimate an archive of.
    #[arg(long, value_name = "DB")]
    db: PathBuf,
    #[command(flatten)]
    selection: SelectionArgs,
    /// What to estimate: the rows `create` archives, or a snapshot of the
    /// whole database's pages (`create --mode pages`).
    #[arg(long, value_enum, default_value_t = cli::estimate::Mode::Rows)]
    mode: cli::estimate::Mode,
    /// Print one JSON object on stdout instead of a summary.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct ArchiveArgs {
    /// The archive to read.
    #[arg(value_name = "ARCHIVE", value_parser = cli::location::parse_location)]
    archive: ArchiveLocation,
    #[command(flatten)]
    open_with: cli::keys::OpenWith,
    #[command(flatten)]
    store: cli::location::StoreArgs,
    /// Print one JSON object on stdout instead of a summary.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct InspectArgs {
    #[command(flatten)]
    archive: ArchiveArgs,
    #[command(flatten)]
    limits: cli::limits::ReaderLimitsArgs,
}

#[derive(Debug, Args)]
struct VerifyArgs {
    #[command(flatten)]
    archive: ArchiveArgs,
    #[command(flatten)]
    limits: cli::limits::ReaderLimitsArgs,
    /// Fail (exit 7) unless the archive carries a valid signature by this
    /// signer (`keepsakesig1...`, from `keepsake keygen --ed25519`).
    #[arg(long, value_name = "SIGNER")]
    trusted_signer: Option<String>,
}

#[derive(Debug, Subcommand)]
enum SlotsCommand {
    /// List the key slots: index, kind and name (unknown kinds too).
    List(ArchiveArgs),
    /// Write a copy of the archive with one more key slot.
    Add(SlotsAddArgs),
    /// Write a copy of the archive without one key slot. This does not revoke
    /// the key: it still opens every earlier copy, and the file key is the
    /// same; use `rekey` to shut a key out.
    Remove(SlotsRemoveArgs),
}

#[derive(Debug, Args)]
struct SlotsAddArgs {
    /// The archive to copy; it is not changed.
    #[arg(value_name = "ARCHIVE", value_parser = cli::location::parse_location)]
    archive: ArchiveLocation,
    /// The new archive; an existing file is never replaced.
    #[arg(long, value_name = "NEW", value_parser = cli::location::parse_location)]
    out: ArchiveLocation,
    #[command(flatten)]
    open_with: cli::keys::OpenWith,
    #[command(flatten)]
    store: cli::location::StoreArgs,
    #[command(flatten)]
    new: NewSlotArgs,
    /// A name for the new slot, stored in the clear.
    #[arg(long, value_name = "NAME")]
    name: Option<String>,
    /// Print one JSON object on stdout instead of a summary.
    #[arg(long)]
    json: bool,
}

/// What the added slot opens with: exactly one.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
struct NewSlotArgs {
    /// Add a slot for this key file.
    #[arg(long, value_name = "KEYFILE")]
    add_key_file: Option<PathBuf>,
    /// Add a slot for the passphrase in this environment variable.
    #[arg(long, value_name = "VAR")]
    add_passphrase_env: Option<String>,
    /// Add a slot for this X25519 recipient (`keepsake1...`).
    #[arg(long, value_name = "RECIPIENT")]
    add_recipient: Option<String>,
}

#[derive(Debug, Args)]
struct RekeyArgs {
    /// The archive to copy; it is read with full verification and not changed.
    #[arg(value_name = "ARCHIVE", value_parser = cli::location::parse_location)]
    archive: ArchiveLocation,
    /// The new archive; an existing file is never replaced.
    #[arg(long, value_name = "NEW", value_parser = cli::location::parse_location)]
    out: ArchiveLocation,
    #[command(flatten)]
    open_with: cli::keys::OpenWith,
    #[command(flatten)]
    store: cli::location::StoreArgs,
    #[command(flatten)]
    rekey_for: cli::rekey::RekeyFor,
    /// Sign the copy with this Ed25519 signing key; the original's signature
    /// cannot be carried over.
    #[arg(long, value_name = "SIGNING_KEY")]
    sign_with: Option<PathBuf>,
    /// Print one JSON object on stdout instead of a summary.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct SlotsRemoveArgs {
    /// The archive to copy; it is not changed.
    #[arg(value_name = "ARCHIVE", value_parser = cli::location::parse_location)]
    archive: ArchiveLocation,
    /// The new archive; an existing file is never replaced.
    #[arg(long, value_name = "NEW", value_parser = cli::location::parse_location)]
    out: ArchiveLocation,
    #[command(flatten)]
    open_with: cli::keys::OpenWith,
    #[command(flatten)]
    store: cli::location::StoreArgs,
    /// Remove the one slot with this name.
    #[arg(
        long,
        value_name = "NAME",
        required_unless_present = "index",
        conflicts_with = "index"
    )]
    name: Option<String>,
    /// Remove the slot at this index (see `slots list`).
    #[arg(long, value_name = "N")]
    index: Option<usize>,
    /// Print one JSON object on stdout instead of a summary.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct ImportArgs {
    /// The archive to import.
    #[arg(value_name = "ARCHIVE", value_parser = cli::location::parse_location)]
    archive: ArchiveLocation,
    /// The database to import into; created with the reference schema if missing.
    #[arg(long, value_name = "DB")]
    db: PathBuf,
    #[command(flatten)]
    open_with: cli::keys::OpenWith,
    #[command(flatten)]
    store: cli::location::StoreArgs,
    /// Import only this conversation (its id in hex), its messages and its
    /// consent record; repeat for several.
    #[arg(long = "conversation", value_name = "HEX", value_parser = cli::units::parse_hex_id)]
    conversations: Vec<Vec<u8>>,
    /// Import only messages sent at or after T (inclusive), and their
    /// conversations; same forms as `create --since`.
    #[arg(long, value_name = "T", value_parser = cli::units::parse_time)]
    since: Option<i64>,
    /// Import only messages sent before T (exclusive).
    #[arg(long, value_name = "T", value_parser = cli::units::parse_time)]
    until: Option<i64>,
    /// Import nothing (exit 7) unless the archive is intact and carries a
    /// valid signature by this signer (`keepsakesig1...`); checked before
    /// anything is committed.
    #[arg(long, value_name = "SIGNER")]
    trusted_signer: Option<String>,
    #[command(flatten)]
    limits: cli::limits::ReaderLimitsArgs,
    /// Print one JSON object on stdout instead of a summary.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct SalvageArgs {
    /// The damaged archive.
    #[arg(value_name = "ARCHIVE", value_parser = cli::location::parse_location)]
    archive: ArchiveLocation,
    /// The new archive to write; must not exist.
    #[arg(long, value_name = "NEW_ARCHIVE", value_parser = cli::location::parse_location)]
    out: ArchiveLocation,
    /// The key file the archive was created with; the new archive opens with it too.
    #[arg(long, value_name = "KEYFILE")]
    key_file: PathBuf,
    #[command(flatten)]
    store: cli::location::StoreArgs,
    #[command(flatten)]
    limits: cli::limits::ReaderLimitsArgs,
    /// Print one JSON object on stdout instead of a summary.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct DemoArgs {
    /// How many sample messages to back up.
    #[arg(long, value_name = "N", default_value_t = cli::DEFAULT_SAMPLE_MESSAGES)]
    messages: u64,
    /// How many sample conversations to spread them over.
    #[arg(long, value_name = "N", default_value_t = cli::DEFAULT_SAMPLE_CONVERSATIONS)]
    conversations: u64,
}

#[derive(Debug, Args)]
struct BenchArgs {
    /// How many sample messages to benchmark on; 200000 makes a database of
    /// about 110 MB, 2000000 one of about 1.1 GB.
    #[arg(long, value_name = "N", default_value_t = cli::bench::DEFAULT_MESSAGES,
          value_parser = clap::value_parser!(u64).range(1..))]
    messages: u64,
    /// How many conversations to spread them over [default: one per 200
    /// messages, at least 20].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    conversations: Option<u64>,
    /// Make the working directory in DIR [default: the system's temporary
    /// directory].
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// Keep the working directory and its files instead of removing them.
    #[arg(long)]
    keep: bool,
    /// Run every operation N times and report the fastest run of each.
    #[arg(long, value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..=100))]
    runs: u32,
    /// Print one JSON object on stdout instead of a table.
    #[arg(long)]
    json: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let (json, outcome) = match cli.command {
        Command::Keygen {
            out,
            x25519,
            ed25519,
            json,
        } => {
            let kind = match (x25519, ed25519) {
                (true, _) => cli::KeyKind::X25519,
                (_, true) => cli::KeyKind::Ed25519,
                _ => cli::KeyKind::Raw,
            };
            (json, cli::keygen(&out, kind))
        }
        Command::Sample(args) => (
            args.json,
            cli::sample(
                &args.db,
                &keepsake_sqlite::sample::SampleOptions {
                    messages: args.messages,
                    conversations: args.conversations,
                    seed: args.seed,
                    shape: match args.shape {
                        Shape::Mixed => keepsake_sqlite::sample::SampleShape::Mixed,
                        Shape::TextHeavy => keepsake_sqlite::sample::SampleShape::TextHeavy,
                        Shape::AttachmentHeavy => {
                            keepsake_sqlite::sample::SampleShape::AttachmentHeavy
                        }
                    },
                    order: match args.order {
                        Order::Sync => keepsake_sqlite::sample::SampleOrder::Sync,
                        Order::Grouped => keepsake_sqlite::sample::SampleOrder::Grouped,
                    },
                },
                args.json,
            ),
        ),
        Command::Create(args) => (args.json, create(args)),
        Command::Estimate(args) => (
            args.json,
            cli::estimate::estimate(&cli::estimate::EstimateRequest {
                db: args.db,
                selection: args.selection.request(),
                mode: args.mode,
                json: args.json,
            }),
        ),
        Command::Inspect(args) => (
            args.archive.json,
            Archive::new(args.archive.archive, &args.archive.store).and_then(|archive| {
                cli::inspect(&archive, &args.archive.open_with, args.limits.limits())
            }),
        ),
        Command::Verify(args) => (
            args.archive.json,
            Archive::new(args.archive.archive, &args.archive.store).and_then(|archive| {
                cli::verify(
                    &archive,
                    &args.archive.open_with,
                    args.limits.limits(),
                    args.trusted_signer.as_deref(),
                    args.archive.json,
                )
            }),
        ),
        Command::Import(args) => (
            args.json,
            Archive::new(args.archive, &args.store).and_then(|archive| {
                cli::import(
                    &archive,
                    &args.db,
                    &args.open_with,
                    &keepsake::Selection {
                        conversations: args.conversations,
                        since: args.since,
                        until: args.until,
                    },
                    args.trusted_signer.as_deref(),
                    args.limits.limits(),
                    args.json,
                )
            }),
        ),
        Command::Salvage(args) => (
            args.json,
            Archive::new(args.archive, &args.store).and_then(|archive| {
                let out = Archive::new(args.out, &args.store)?;
                cli::salvage::salvage(&archive, &out, &args.key_file, args.limits.limits())
            }),
        ),
        Command::Restore(args) => (
            args.json,
            Archive::new(args.archive, &args.store).and_then(|archive| {
                cli::pages::restore(&cli::pages::RestoreRequest {
                    archive,
                    out: args.out,
                    open_with: args.open_with,
                    trusted_signer: args.trusted_signer,
                    keep_triggers_and_views: args.keep_triggers_and_views,
                    full_check: args.full_check,
                    limits: args.limits.limits(),
                    json: args.json,
                })
            }),
        ),
        Command::Slots(command) => slots(command),
        Command::Rekey(args) => (
            args.json,
            Archive::new(args.archive, &args.store).and_then(|archive| {
                let out = Archive::new(args.out, &args.store)?;
                cli::rekey::rekey(
                    &archive,
                    &out,
                    &args.open_with,
                    &args.rekey_for,
                    args.sign_with.as_deref(),
                )
            }),
        ),
        Command::Demo(args) => (false, cli::demo::run(args.messages, args.conversations)),
        Command::Bench(args) => (
            args.json,
            cli::bench::run_bench(&cli::bench::BenchRequest {
                messages: args.messages,
                conversations: args.conversations,
                dir: args.dir,
                keep: args.keep,
                runs: args.runs,
                json: args.json,
            }),
        ),
        Command::BenchStep { step } => (true, cli::bench::step(&step)),
    };
    exit::finish(outcome, json)
}

fn slots(command: SlotsCommand) -> (bool, Result<cli::Report, exit::Failure>) {
    match command {
        SlotsCommand::List(args) => (
            args.json,
            Archive::new(args.archive, &args.store)
                .and_then(|archive| cli::slots::list(&archive, &args.open_with)),
        ),
        SlotsCommand::Add(args) => {
            let new = match (args.new.add_key_file, args.new.add_passphrase_env) {
                (Some(path), _) => cli::slots::NewSlot::KeyFile(path),
                (_, Some(var)) => cli::slots::NewSlot::PassphraseEnv(var),
                _ => cli::slots::NewSlot::Recipient(args.new.add_recipient.unwrap_or_default()),
            };
            (
                args.json,
                Archive::new(args.archive, &args.store).and_then(|archive| {
                    let out = Archive::new(args.out, &args.store)?;
                    cli::slots::add(&archive, &out, &args.open_with, &new, args.name.as_deref())
                }),
            )
        }
        SlotsCommand::Remove(args) => {
            let which = match (args.index, args.name) {
                (Some(index), _) => keepsake::SlotSelector::Index(index),
                (_, name) => keepsake::SlotSelector::Name(name.unwrap_or_default()),
            };
            (
                args.json,
                Archive::new(args.archive, &args.store).and_then(|archive| {
                    let out = Archive::new(args.out, &args.store)?;
                    cli::slots::remove(&archive, &out, &args.open_with, &which)
                }),
            )
        }
    }
}

fn create(args: CreateArgs) -> Result<cli::Report, exit::Failure> {
    let out = Archive::new(args.out, &args.store)?;
    if args.mode == CreateMode::Pages {
        let selection = &args.selection;
        if selection.since.is_some() || selection.until.is_some() || selection.elements.is_some() {
            return Err(exit::Failure::usage(
                "--since, --until and --elements select rows; --mode pages always archives the whole database",
            ));
        }
        return cli::pages::create(&cli::pages::CreatePagesRequest {
            db: args.db,
            out,
            replace: args.replace,
            write_for: args.write_for,
            sign_with: args.sign_with,
            writer: args.selection.request().writer(),
            json: args.json,
        });
    }
    cli::create(&cli::CreateRequest {
        db: args.db,
        out,
        replace: args.replace,
        write_for: args.write_for,
        sign_with: args.sign_with,
        selection: args.selection.request(),
        json: args.json,
    })
}
