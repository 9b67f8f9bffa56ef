#include "hub/projection/projection_schema.h"

#include "hub/projection/money.h"

namespace cjd::hub {
namespace {

const std::vector<sqlite::Migration> kMigrations = {
    {1, R"sql(
      CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
      -- One row per profile ever created; merged ones point at the profile that absorbed them.
      CREATE TABLE profiles (
        profile_id     INTEGER PRIMARY KEY,   -- increasing: smaller = older
        created_ms     INTEGER NOT NULL,
        merged_into    INTEGER,               -- NULL while the profile is live
        first_seen_ms  INTEGER NOT NULL,
        last_seen_ms   INTEGER NOT NULL,
        events         INTEGER NOT NULL DEFAULT 0,
        loyalty_scans  INTEGER NOT NULL DEFAULT 0,
        channels       TEXT NOT NULL DEFAULT '',  -- sorted, comma separated
        attributes     TEXT NOT NULL DEFAULT '{}' -- {"name": {"v": value, "t": ms}}
      );
      -- Identifiers by keyed hash; the value is sealed (identity_keys.h), never plain.
      CREATE TABLE identifiers (
        id_key       BLOB PRIMARY KEY,        -- 16-byte keyed BLAKE2b of type || value
        type         INTEGER NOT NULL,        -- identity::IdType
        profile_id   INTEGER NOT NULL,
        value        BLOB NOT NULL,
        event_rowid  INTEGER NOT NULL,        -- the event that attached it
        attached_ms  INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE INDEX identifiers_by_profile ON identifiers (profile_id, type);
      -- Every projected event and the profile it belongs to (NULL: anonymous).
      CREATE TABLE profile_events (
        event_rowid     INTEGER PRIMARY KEY,  -- log.events.id
        profile_id      INTEGER,
        occurred_at_ms  INTEGER NOT NULL,
        type            INTEGER NOT NULL,
        carried         BLOB,                 -- keys of the usable identifiers it carried
        attached        BLOB                  -- of those, the keys it attached
      );
      CREATE INDEX profile_events_by_profile ON profile_events (profile_id, occurred_at_ms);
      -- Orders (an order_id may arrive in several parts); money as exact decimal text.
      CREATE TABLE orders (
        order_id        TEXT PRIMARY KEY,
        profile_id      INTEGER,              -- the profile of its first part; NULL: anonymous
        first_event     INTEGER NOT NULL,     -- log.events.id of the first part
        occurred_at_ms  INTEGER NOT NULL,
        local_date      TEXT NOT NULL,        -- YYYY-MM-DD in the order's own UTC offset
        store_id        TEXT NOT NULL,
        channel         TEXT NOT NULL,
        currency        TEXT NOT NULL,
        sale_lines      INTEGER NOT NULL,     -- quantity > 0 and unit price > 0
        return_lines    INTEGER NOT NULL,     -- quantity < 0
        gross           TEXT NOT NULL,        -- sum of quantity x price over sale lines
        returns         TEXT NOT NULL,        -- sum of |quantity| x price over return lines
        parts           INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE INDEX orders_by_profile ON orders (profile_id);
      CREATE INDEX orders_by_date ON orders (currency, local_date);
      CREATE INDEX orders_by_first_event ON orders (first_event);
      CREATE TABLE profile_categories (
        profile_id  INTEGER NOT NULL,
        category    TEXT NOT NULL,
        quantity    INTEGER NOT NULL,         -- items bought (sale lines)
        PRIMARY KEY (profile_id, category)
      ) WITHOUT ROWID;
      -- Append-only: merges, and splits that revert them.
      CREATE TABLE merge_log (
        merge_id     INTEGER PRIMARY KEY,
        kind         TEXT NOT NULL,           -- merge | split
        reverts      INTEGER,
        survivor     INTEGER NOT NULL,
        absorbed     INTEGER NOT NULL,
        link_type    INTEGER NOT NULL,
        link_key     BLOB NOT NULL,
        event_id     TEXT NOT NULL,
        event_rowid  INTEGER,                 -- merge: the linking event
        at_ms        INTEGER NOT NULL
      );
      -- What the absorbed profile held when it was merged (for an exact split).
      CREATE TABLE merge_members (
        merge_id     INTEGER NOT NULL,
        id_key       BLOB,
        event_rowid  INTEGER
      );
      CREATE INDEX merge_members_by_merge ON merge_members (merge_id);
      CREATE TABLE kept_apart (a INTEGER NOT NULL, b INTEGER NOT NULL, PRIMARY KEY (a, b))
        WITHOUT ROWID;
    )sql"},
    {2, R"sql(
      -- "Which profiles were merged into X" without scanning every profile.
      CREATE INDEX profiles_merged_into ON profiles (merged_into) WHERE merged_into IS NOT NULL;
      -- Running totals for /v1/stats, kept by the projector in each batch's transaction.
      INSERT OR REPLACE INTO meta (key, value) VALUES
        ('profiles', (SELECT count(*) FROM profiles WHERE merged_into IS NULL)),
        ('merged_profiles', (SELECT count(*) FROM profiles WHERE merged_into IS NOT NULL)),
        ('identifiers', (SELECT count(*) FROM identifiers)),
        ('orders', (SELECT count(*) FROM orders));
    )sql"},
    {3, R"sql(
      -- A profile's events by row (paging newest first, split's later events) without sorting
      -- all of them; occurred_at_ms was never used to search.
      DROP INDEX profile_events_by_profile;
      CREATE INDEX profile_events_by_profile ON profile_events (profile_id);
      CREATE INDEX merge_log_by_survivor ON merge_log (survivor) WHERE kind = 'merge';
      CREATE INDEX merge_log_reverts ON merge_log (reverts) WHERE kind = 'split';
      CREATE INDEX kept_apart_by_b ON kept_apart (b);
    )sql"},
    {4, R"sql(
      -- For personalised offers. Kept by the projector in each batch's transaction.
      -- The stores where a profile was seen: events attributed to it with a store_id
      -- (ms: occurred_at). Merges fold the absorbed profile's rows into the survivor's; splits
      -- recompute both profiles from their events.
      CREATE TABLE profile_stores (
        profile_id  INTEGER NOT NULL,
        store_id    TEXT NOT NULL,
        first_ms    INTEGER NOT NULL,
        last_ms     INTEGER NOT NULL,
        events      INTEGER NOT NULL,
        PRIMARY KEY (profile_id, store_id)
      ) WITHOUT ROWID;
      CREATE INDEX profile_stores_by_store ON profile_stores (store_id, profile_id);
      -- One row per (offer, order) whose items or order-level offer_id name the offer, however
      -- many parts and items do. profile_id is always orders.profile_id (merges re-point it,
      -- splits recompute it); occurred_at_ms is the order's (its first part's).
      CREATE TABLE offer_redemptions (
        offer_id        TEXT NOT NULL,
        order_id        TEXT NOT NULL,
        profile_id      INTEGER,
        occurred_at_ms  INTEGER NOT NULL,
        PRIMARY KEY (offer_id, order_id)
      ) WITHOUT ROWID;
      CREATE INDEX offer_redemptions_by_profile ON offer_redemptions (profile_id, offer_id);
      -- An order's redemptions, for when a later part gives an anonymous order its profile.
      CREATE INDEX offer_redemptions_by_order ON offer_redemptions (order_id);
      -- offer_impression events: +1 per offer listed in an event, whoever saw it.
      CREATE TABLE offer_impressions (
        offer_id     TEXT PRIMARY KEY,
        impressions  INTEGER NOT NULL,
        last_ms      INTEGER NOT NULL
      ) WITHOUT ROWID;
      -- A projection made before this migration has events these tables miss. Filling them
      -- needs the event bodies in the log (attached after migrating) and the event parser: the
      -- projector does it on start, in one transaction, and then deletes this key.
      INSERT OR REPLACE INTO meta (key, value) VALUES ('backfill_offers', 1);
    )sql"},
    {5, R"sql(
      -- Orders by profile and currency: the RFM cut points (rfm.cpp) group every customer's
      -- orders by (profile_id, currency); in this order they stream from the index instead of
      -- through a temporary B-tree of every order (tens of MB of transient memory per recompute
      -- at a few hundred thousand orders). Lookups by profile_id use its prefix.
      DROP INDEX orders_by_profile;
      CREATE INDEX orders_by_profile ON orders (profile_id, currency);
    )sql"},
    {6, R"sql(
      -- The same order, covering what GET /v1/metrics (profile_metrics.cpp) and the RFM cut
      -- points read of an order: both read every order from this index alone, in order, instead
      -- of looking each one up in the table (1,000,000 random lookups took ~10 s). Costs about
      -- the table's size again on disk; orders_by_date, which only the old metrics used, goes.
      DROP INDEX IF EXISTS orders_by_date;
      DROP INDEX orders_by_profile;
      CREATE INDEX orders_by_profile ON orders (profile_id, currency, local_date, store_id,
                                                channel, sale_lines, return_lines, gross, returns,
                                                occurred_at_ms);
    )sql"},
    {7, R"sql(
      -- Rollups of the orders that GET /v1/metrics reads instead of every order
      -- (order_rollups.h explains each table; the projector keeps them in the same transaction
      -- as the orders). The projector fills them from the orders on its next start (meta
      -- 'rebuild_rollups'), in one transaction.
      CREATE TABLE rollup_orders (
        currency      TEXT NOT NULL,
        day           INTEGER NOT NULL,      -- YYYYMMDD of the order's local date
        store_id      TEXT NOT NULL,
        channel       TEXT NOT NULL,
        rows          INTEGER NOT NULL,      -- every order row (sale orders, credit notes, ...)
        sale_orders   INTEGER NOT NULL,
        credit_notes  INTEGER NOT NULL,
        gross         TEXT NOT NULL,
        returns       TEXT NOT NULL,
        cust_rows     INTEGER NOT NULL,      -- the same, of rows with a profile
        cust_orders   INTEGER NOT NULL,
        cust_gross    TEXT NOT NULL,
        cust_returns  TEXT NOT NULL,
        PRIMARY KEY (currency, day, store_id, channel)
      ) WITHOUT ROWID;
      CREATE TABLE rollup_customers (
        currency  TEXT NOT NULL,
        scope     INTEGER NOT NULL,          -- 0 all, 1 store, 2 channel, 3 store and channel
        store_id  TEXT NOT NULL,             -- '' where the scope does not filter
        channel   TEXT NOT NULL,
        kind      INTEGER NOT NULL,          -- 1 first, 2 later, 3 later by prev2, 4 month first
        day       INTEGER NOT NULL,
        prev      INTEGER NOT NULL,
        prev2     INTEGER NOT NULL,
        n         INTEGER NOT NULL,
        PRIMARY KEY (currency, scope, store_id, channel, kind, day, prev, prev2)
      ) WITHOUT ROWID;
      -- Each customer's all-time figures, for every store (scope 0) and for each channel (2);
      -- one customer's rows side by side (one page to write), ranked through the index.
      CREATE TABLE rollup_top (
        currency    TEXT NOT NULL,
        profile_id  INTEGER NOT NULL,
        scope       INTEGER NOT NULL,
        channel     TEXT NOT NULL,
        orders      INTEGER NOT NULL,
        gross       TEXT NOT NULL,
        returns     TEXT NOT NULL,
        rank_key    INTEGER NOT NULL,        -- gross in hundredths, rounded down (ties: exact)
        PRIMARY KEY (currency, profile_id, scope, channel)
      ) WITHOUT ROWID;
      CREATE INDEX rollup_top_by_rank ON rollup_top (currency, scope, channel, rank_key DESC,
                                                     profile_id);
      CREATE TABLE rollup_digest (
        profile_id  INTEGER PRIMARY KEY,
        data        BLOB NOT NULL
      );
      -- The top customers of one store, or of a bounded range, read those orders by store and
      -- date.
      CREATE INDEX orders_by_store_day ON orders (currency, store_id, local_date, profile_id,
                                                  channel, sale_lines, gross);
      INSERT OR REPLACE INTO meta (key, value) VALUES ('rebuild_rollups', 1);
    )sql"},
    {8, R"sql(
      -- Why two profiles were merged: 'identifier' (an event carried identifiers of both),
      -- 'probabilistic' (the matcher, hub/matching/profile_matcher.h, with its P(match)) or
      -- 'review' (an operator's decision on the matcher's review list).
      ALTER TABLE merge_log ADD COLUMN reason TEXT NOT NULL DEFAULT 'identifier';
      ALTER TABLE merge_log ADD COLUMN probability REAL;
    )sql"},
    {9, R"sql(
      -- Issue 16: each new redemption in projection order, the feed of the webhooks'
      -- offer.redeemed (hub/activation reads it through ProfileReader::RedemptionsAfter).
      -- The newest 100,000 are kept. Redemptions before this migration are not in it.
      CREATE TABLE redemption_log (
        seq       INTEGER PRIMARY KEY AUTOINCREMENT,
        offer_id  TEXT NOT NULL,
        order_id  TEXT NOT NULL,
        at_ms     INTEGER NOT NULL
      );
    )sql"},
    {10, R"sql(
      -- Issue 17: with the hub's store in PostgreSQL every instance keeps its own projection,
      -- and an erasure whose hub part another instance ran is applied to this one once
      -- (Projector::ErasureApplied). 'created_ms': when this file was made (for a file made
      -- before this migration, when it was migrated); a request finished well before it is
      -- not applied, since the log this projection read was redacted already.
      CREATE TABLE erasures_applied (
        erasure_id  TEXT PRIMARY KEY,
        at_ms       INTEGER NOT NULL,
        swept_ms    INTEGER NOT NULL DEFAULT 0  -- the final sweep applied here too (0: not yet)
      ) WITHOUT ROWID;
      INSERT OR IGNORE INTO meta (key, value) VALUES
        ('created_ms', CAST(strftime('%s', 'now') AS INTEGER) * 1000);
    )sql"},
};

}  // namespace

Result<std::unique_ptr<sqlite::Database>> OpenProjection(const std::string& profiles_path,
                                                         bool read_only) {
  sqlite::OpenOptions options;
  options.synchronous_full = false;  // derived data: rebuilt from the log after a crash
  auto db = sqlite::Database::Open(profiles_path, options);
  if (!db.ok()) return db.status();
  if (!read_only) CJD_RETURN_IF_ERROR((*db)->Migrate(kMigrations));
  CJD_RETURN_IF_ERROR((*db)->Exec("PRAGMA cache_size = -65536"));
  // The writer checkpoints every 40,000 pages of WAL (~160 MiB) instead of SQLite's 1,000: a
  // batch of a backlog rewrites thousands of pages at random (the identifier index is keyed by a
  // keyed hash), and a page rewritten by several batches is then copied into the file once
  // (README, Performance: the projection of 1,000,000 identify events).
  // The WAL file keeps that size between checkpoints (re-growing it each time costs more) and is
  // cut back to 192 MiB when a checkpoint lets it start over after readers held it longer.
  if (!read_only) {
    CJD_RETURN_IF_ERROR((*db)->Exec("PRAGMA wal_autocheckpoint = 40000"));
    CJD_RETURN_IF_ERROR((*db)->Exec("PRAGMA journal_size_limit = 201326592"));
  }
  CJD_RETURN_IF_ERROR(RegisterMoneyFunctions((*db)->raw()));
  if (read_only) CJD_RETURN_IF_ERROR((*db)->Exec("PRAGMA query_only = 1"));
  return db;
}

}  // namespace cjd::hub
