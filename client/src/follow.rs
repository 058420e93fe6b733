//! `sync --follow`: the register kept current by the hub's pushes
//! (`GET /changes/stream`). Each pushed page goes through the same code as a pulled
//! one (`sync::prepare` verifies every signature, `sync::Writer` stores the page with
//! its cursor in one transaction and raises the reassessment flags), so a follower
//! stopped anywhere resumes from the stored cursor with nothing lost or doubled.
//!
//! A reader thread per connection opens the stream, verifies each push and hands it
//! over; this thread applies them, refreshes the catalog and supplier chain (and the
//! date-driven flags) at most every `interval`, and watches the stop flag. A dropped or
//! failed connection is opened again from the stored cursor after a backoff (0.5 s,
//! doubling up to 30 s); a hub that says the token is no longer valid (or not a
//! member's) ends the follow with its error, whether on connecting, on the stream (the
//! hub checks a stream's token every 30 s) or on refreshing the context. A hub without the push endpoint (404) is
//! polled every `interval` instead. An empty register is first filled by pulling, as
//! `sync` does (appending, the id index built once).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{RecvTimeoutError, SyncSender};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use diesel::sqlite::SqliteConnection;
use renkei_schema::errors::Code;

use crate::context;
use crate::error::{Error, Result};
use crate::flags::{self, Recorded};
use crate::hub_api::{HubApi, Pushed, StreamClient};
use crate::register;
use crate::sync::{self, Prepared, SigningKeys, SyncOptions, SyncReport, Writer};

/// The first wait before connecting again, doubled after each failure up to
/// [`BACKOFF_MAX`].
pub const BACKOFF_START: Duration = Duration::from_millis(500);
pub const BACKOFF_MAX: Duration = Duration::from_secs(30);
/// A connection that sent nothing this long (the hub sends a keep-alive every 15 s) is
/// taken for dead and opened again.
pub const SILENCE_MAX: Duration = Duration::from_secs(45);
/// How often the stop flag and the refresh timer are looked at while waiting.
const TICK: Duration = Duration::from_millis(100);

pub struct FollowOptions {
    /// Items per page when pulling (an empty register, or a hub that cannot push).
    pub page_size: i64,
    /// Between polls when the hub cannot push, and at least between two refreshes of
    /// the catalog and supplier chain (and of the date-driven flags).
    pub interval: Duration,
}

/// What the follower reports as it goes (the command line prints it).
#[derive(Debug)]
pub enum Event<'a> {
    /// The catalog relation and the supplier chain were refreshed from the hub, or
    /// could not be (matching then uses what is stored).
    Context(std::result::Result<&'a context::Refreshed, &'a Error>),
    /// Listening to the hub's pushes after this cursor.
    Connected { after: Option<&'a str> },
    /// A page was applied: the run of pages so far (as `sync`'s progress).
    Page(&'a SyncReport),
    /// A run of pages was applied (a catch-up, a push, or a poll), in `elapsed`.
    Synced { report: &'a SyncReport, elapsed: Duration },
    /// Flags raised or updated because dates passed (checked with the context), or by
    /// sealed items that opened once their sender's key was known.
    Due(&'a Recorded),
    /// The connection ended or failed; the next attempt after `retry`.
    Retrying { error: &'a Error, retry: Duration },
    /// The hub has no push endpoint: it is polled every interval from now on.
    Polling { interval: Duration },
}

/// Follows the hub until `stop` is set (then `Ok`), or until an error that retrying
/// cannot mend: the hub refusing the token (`UNAUTHENTICATED`, `LOCKED_OUT`,
/// `FORBIDDEN`), or the register failing. See the module comment. `stop` is looked at
/// every 100 ms while waiting and between runs of pages; a first fill of an empty
/// register by pulling runs to its end.
pub fn follow(
    conn: &mut SqliteConnection,
    api: &HubApi,
    options: &FollowOptions,
    stop: &AtomicBool,
    events: &mut dyn FnMut(Event<'_>),
) -> Result<()> {
    // A register without a hub, or with a key that does not read, fails here at once.
    SigningKeys::load(conn)?;
    let streams = api.stream_client()?;
    let mut follower = Follower { conn, api, options, stop, events, refreshed_at: None };
    follower.refresh()?;
    let mut backoff = Backoff::default();
    // An empty register is filled by pulling first.
    while sync::first_sync_pending(follower.conn)? {
        match follower.pull() {
            Ok(()) => break,
            Err(e) if fatal(&e) => return Err(e),
            Err(e) => {
                if follower.pause(&e, backoff.next())? {
                    return Ok(());
                }
            }
        }
    }
    let mut writer = Writer::start(follower.conn)?;
    let mut polling = false;
    loop {
        if follower.stopped() {
            return Ok(());
        }
        if polling {
            if let Err(e) = follower.pull() {
                if fatal(&e) {
                    return Err(e);
                }
                (follower.events)(Event::Retrying { error: &e, retry: options.interval });
            }
            if follower.wait(options.interval)? {
                return Ok(());
            }
            continue;
        }
        let error = match follower.listen(&streams, &mut writer, &mut backoff) {
            Ok(Ended::Stopped) => return Ok(()),
            Ok(Ended::NoStream) => {
                polling = true;
                (follower.events)(Event::Polling { interval: options.interval });
                continue;
            }
            Err(e) if fatal(&e) => return Err(e),
            Err(e) => e,
        };
        if follower.pause(&error, backoff.next())? {
            return Ok(());
        }
    }
}

/// Errors retrying cannot mend: the hub no longer takes the token, or it is not a
/// member's; the register failing. (The register's own settings were checked before
/// the first connection.)
fn fatal(e: &Error) -> bool {
    token_refused(e)
        || match e.root() {
            Error::Refused(r) => r.known_code() == Some(Code::Forbidden),
            Error::Register(_) => true,
            _ => false,
        }
}

/// The hub no longer takes the token: invalid, revoked or expired, or locked out (a hub
/// locks out failed tokens only).
fn token_refused(e: &Error) -> bool {
    matches!(e.root(), Error::Refused(r) if matches!(r.known_code(), Some(Code::Unauthenticated | Code::LockedOut)))
}

/// The wait before the next attempt: doubles from [`BACKOFF_START`] to [`BACKOFF_MAX`];
/// starts again once a connection proved itself (it sent a page or a keep-alive).
#[derive(Default)]
struct Backoff {
    next: Option<Duration>,
}

impl Backoff {
    fn next(&mut self) -> Duration {
        let wait = self.next.unwrap_or(BACKOFF_START);
        self.next = Some((wait * 2).min(BACKOFF_MAX));
        wait
    }

    fn reset(&mut self) {
        self.next = None;
    }
}

/// How a connection ended without an error.
enum Ended {
    Stopped,
    /// The hub has no push endpoint.
    NoStream,
}

/// What the reader thread hands over.
enum Message {
    /// The hub accepted the stream.
    Opened,
    /// A verified push.
    Page(Prepared),
    /// A keep-alive (or an event not needed).
    Alive,
    /// The hub answered 404.
    NoStream,
    /// The connection failed or ended (the hub's `event: error`, a page that did not
    /// read, the hub closing it): the reader has stopped.
    Failed(Error),
}

/// Why applying a run of pushes paused.
enum Pause {
    Stop,
    /// The catalog refresh is due.
    Refresh,
    /// The connection is over.
    Over(Error),
}

struct Follower<'a, 'e> {
    conn: &'a mut SqliteConnection,
    api: &'a HubApi,
    options: &'a FollowOptions,
    stop: &'a AtomicBool,
    events: &'a mut (dyn FnMut(Event<'_>) + 'e),
    refreshed_at: Option<Instant>,
}

impl Follower<'_, '_> {
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    fn refresh_due(&self) -> bool {
        self.refreshed_at.is_none_or(|at| at.elapsed() >= self.options.interval)
    }

    /// Refreshes the catalog relation and supplier chain (a failure is reported, not
    /// fatal, unless the hub no longer takes the token: the follow ends with that, as
    /// the stream would at its next check) and raises the flags dates call for.
    fn refresh(&mut self) -> Result<()> {
        match context::refresh(self.conn, self.api) {
            Ok(r) => (self.events)(Event::Context(Ok(&r))),
            Err(e) if token_refused(&e) => return Err(e),
            Err(e) => (self.events)(Event::Context(Err(&e))),
        }
        self.refreshed_at = Some(Instant::now());
        // Organisations' keys, then the sealed items that waited for a sender's key.
        match crate::sealed::refresh_keys(self.conn, self.api, None) {
            Err(e) if token_refused(&e) => return Err(e),
            _ => {}
        }
        let mut due = crate::sealed::retry_unopened(self.conn)?;
        due += flags::raise_due(self.conn, chrono::Utc::now())?;
        if due.raised + due.updated > 0 {
            (self.events)(Event::Due(&due));
        }
        Ok(())
    }

    /// Waits `how_long` (refreshing when due); whether `stop` was set meanwhile.
    fn wait(&mut self, how_long: Duration) -> Result<bool> {
        let until = Instant::now() + how_long;
        loop {
            if self.stopped() {
                return Ok(true);
            }
            if self.refresh_due() {
                self.refresh()?;
            }
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(false);
            }
            std::thread::sleep(left.min(TICK));
        }
    }

    /// Reports `error` and waits `retry`; whether `stop` was set meanwhile.
    fn pause(&mut self, error: &Error, retry: Duration) -> Result<bool> {
        (self.events)(Event::Retrying { error, retry });
        self.wait(retry)
    }

    /// Pulls the feed as `sync` does, to its end.
    fn pull(&mut self) -> Result<()> {
        let options = SyncOptions { page_size: self.options.page_size, max_pages: None };
        let started = Instant::now();
        let events = &mut *self.events;
        let report = sync::sync(self.conn, self.api, &options, &mut |r| events(Event::Page(r)))?;
        (self.events)(Event::Synced { report: &report, elapsed: started.elapsed() });
        Ok(())
    }

    /// One connection to the push stream, from the stored cursor, until it ends.
    fn listen(&mut self, streams: &StreamClient, writer: &mut Writer, backoff: &mut Backoff) -> Result<Ended> {
        let after = register::get(self.conn, register::CURSOR)?;
        let keys = SigningKeys::load(self.conn)?;
        // The context may have been refreshed while no connection was open.
        writer.reload_index(self.conn)?;
        // Room for one page beside the one being applied, as `sync` fetches ahead.
        let (sender, received) = std::sync::mpsc::sync_channel(1);
        let (client, cursor) = (streams.clone(), after.clone());
        std::thread::Builder::new()
            .name("renkei-push-reader".into())
            .spawn(move || read(client, cursor, keys, sender))
            .map_err(Error::Io)?;
        // The reader ends at its next message once `received` is dropped.
        let mut heard = Instant::now();
        loop {
            match received.recv_timeout(TICK) {
                Ok(Message::Opened) => break,
                Ok(Message::NoStream) => return Ok(Ended::NoStream),
                Ok(Message::Failed(e)) => return Err(e),
                Ok(Message::Page(_) | Message::Alive) => return Err(reader_gone()),
                Err(RecvTimeoutError::Disconnected) => return Err(reader_gone()),
                Err(RecvTimeoutError::Timeout) if self.stopped() => return Ok(Ended::Stopped),
                Err(RecvTimeoutError::Timeout) if heard.elapsed() >= SILENCE_MAX => return Err(silent()),
                Err(RecvTimeoutError::Timeout) => {}
            }
        }
        heard = Instant::now();
        (self.events)(Event::Connected { after: after.as_deref() });
        let mut seen_version = data_version(self.conn)?;
        let mut cursor = after;
        loop {
            // Another process changed the register (an asset, a risk): match against it.
            let now_version = data_version(self.conn)?;
            if now_version != seen_version {
                writer.reload_index(self.conn)?;
                seen_version = now_version;
            }
            let mut report = SyncReport { cursor: cursor.clone(), ..Default::default() };
            let mut paused = None;
            // A run is timed from its first page, not from the wait for it.
            let mut first_page: Option<Instant> = None;
            let waiting = Instant::now();
            {
                let (stop, refreshed_at, interval) = (self.stop, self.refreshed_at, self.options.interval);
                let mut next = |wait: bool| -> Option<Result<Prepared>> {
                    loop {
                        let message = if wait {
                            match received.recv_timeout(TICK) {
                                Ok(message) => message,
                                Err(RecvTimeoutError::Disconnected) => {
                                    paused = Some(Pause::Over(reader_gone()));
                                    return None;
                                }
                                Err(RecvTimeoutError::Timeout) => {
                                    if stop.load(Ordering::Relaxed) {
                                        paused = Some(Pause::Stop);
                                        return None;
                                    }
                                    if refreshed_at.is_none_or(|at| at.elapsed() >= interval) {
                                        paused = Some(Pause::Refresh);
                                        return None;
                                    }
                                    if heard.elapsed() >= SILENCE_MAX {
                                        paused = Some(Pause::Over(silent()));
                                        return None;
                                    }
                                    continue;
                                }
                            }
                        } else {
                            received.try_recv().ok()?
                        };
                        heard = Instant::now();
                        match message {
                            Message::Page(page) => {
                                backoff.reset();
                                first_page.get_or_insert(heard);
                                return Some(Ok(page));
                            }
                            Message::Alive | Message::Opened => {
                                backoff.reset();
                                if !wait {
                                    return None;
                                }
                            }
                            Message::NoStream => {
                                paused = Some(Pause::Over(reader_gone()));
                                return None;
                            }
                            Message::Failed(e) => {
                                paused = Some(Pause::Over(e));
                                return None;
                            }
                        }
                    }
                };
                let events = &mut *self.events;
                writer.apply(self.conn, &mut next, None, &mut |r| events(Event::Page(r)), &mut report)?;
            }
            if let Some(first) = first_page.filter(|_| report.pages > 0) {
                report.waited = report.waited.saturating_sub(first.duration_since(waiting));
                (self.events)(Event::Synced { report: &report, elapsed: first.elapsed() });
                cursor = report.cursor.clone();
            }
            match paused {
                Some(Pause::Stop) => return Ok(Ended::Stopped),
                Some(Pause::Over(e)) => return Err(e),
                Some(Pause::Refresh) => {
                    self.refresh()?;
                    // The catalog relation and supplier chain are part of the index.
                    writer.reload_index(self.conn)?;
                    seen_version = data_version(self.conn)?;
                }
                None => {}
            }
        }
    }
}

/// The reader thread: opens the stream after `after`, verifies each push with the
/// register's keys and hands it over, until the stream ends or `sender`'s other end is
/// dropped.
fn read(streams: StreamClient, after: Option<String>, mut keys: SigningKeys, sender: SyncSender<Message>) {
    let mut stream = match streams.open(after.as_deref()) {
        Ok(Some(stream)) => stream,
        Ok(None) => {
            let _ = sender.send(Message::NoStream);
            return;
        }
        Err(e) => {
            let _ = sender.send(Message::Failed(e));
            return;
        }
    };
    if sender.send(Message::Opened).is_err() {
        return;
    }
    loop {
        let message = match stream.next_event() {
            Ok(Some(Pushed::Changes(push))) => match sync::prepare(&mut keys, push.into_page()) {
                Ok(page) => Message::Page(page),
                Err(e) => Message::Failed(e),
            },
            Ok(Some(Pushed::Alive)) => Message::Alive,
            Ok(Some(Pushed::Error(refused))) => Message::Failed(refused.into()),
            Ok(None) => Message::Failed(connection(
                std::io::ErrorKind::UnexpectedEof,
                "the hub ended the push stream / ハブがプッシュのストリームを終了しました".into(),
            )),
            Err(e) => Message::Failed(e),
        };
        let last = matches!(message, Message::Failed(_));
        if sender.send(message).is_err() || last {
            return;
        }
    }
}

/// A connection that ended without the hub saying why (it is opened again).
fn connection(kind: std::io::ErrorKind, message: String) -> Error {
    Error::Io(std::io::Error::new(kind, message))
}

fn reader_gone() -> Error {
    connection(std::io::ErrorKind::BrokenPipe, "the push stream's reader stopped / プッシュの受信が停止しました".into())
}

fn silent() -> Error {
    connection(
        std::io::ErrorKind::TimedOut,
        format!(
            "the hub sent nothing for {} s, not even a keep-alive / ハブから{}秒間何も届きません",
            SILENCE_MAX.as_secs(),
            SILENCE_MAX.as_secs()
        ),
    )
}

/// SQLite's count of commits by other connections to the register: it moves when
/// another `renkei` changed assets or risks while this one follows.
fn data_version(conn: &mut SqliteConnection) -> Result<i64> {
    #[derive(QueryableByName)]
    struct Version {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        data_version: i64,
    }
    Ok(diesel::sql_query("PRAGMA data_version").get_result::<Version>(conn)?.data_version)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backoff_doubles_to_its_ceiling_and_starts_again_after_a_good_connection() {
        let mut backoff = Backoff::default();
        let waits: Vec<u128> = (0..9).map(|_| backoff.next().as_millis()).collect();
        assert_eq!(waits, [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
        backoff.reset();
        assert_eq!(backoff.next(), BACKOFF_START);
    }

    #[test]
    fn only_a_refused_token_or_a_failing_register_ends_the_follow() {
        let refused = |code: &str| -> Error {
            crate::error::Refused { code: Some(code.into()), message: "no".into(), message_ja: None }.into()
        };
        for code in ["UNAUTHENTICATED", "LOCKED_OUT", "FORBIDDEN"] {
            assert!(fatal(&refused(code)), "{code}");
        }
        for code in ["UNAVAILABLE", "RATE_LIMITED", "INVALID_CURSOR"] {
            assert!(!fatal(&refused(code)), "{code}");
        }
        assert!(!fatal(&silent()) && !fatal(&reader_gone()));
        assert!(fatal(&Error::Register(diesel::result::Error::NotFound)));
        // The cause is found under the context it was given.
        use crate::error::Context as _;
        let wrapped: Result<()> = Err(refused("UNAUTHENTICATED"));
        assert!(fatal(&wrapped.context("connecting").expect_err("error")));
    }
}
