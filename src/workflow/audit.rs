//! Accountable access to personal data: a staff read that shows a citizen's phone or notes is
//! recorded (who, when, which request, which fields, through which read) before the answer
//! goes out, in one insert; admins page through the trail.

use crate::db::audit::{self, NewRead, ReadRow};
use crate::db::{now, Db, DbResult};

/// What a staff member's answer is about to show of one request.
pub struct Shown {
    pub request_id: i64,
    pub phone: bool,
    pub notes: bool,
}

/// Records what `account_id` is shown through `via`; requests showing neither phone nor notes
/// are not recorded.
pub async fn record_reads(
    db: &Db,
    account_id: i64,
    via: &'static str,
    shown: impl IntoIterator<Item = Shown>,
) -> DbResult<()> {
    let at = now();
    let reads: Vec<NewRead> = shown
        .into_iter()
        .filter_map(|s| {
            let fields = match (s.phone, s.notes) {
                (true, true) => "phone,notes",
                (true, false) => "phone",
                (false, true) => "notes",
                (false, false) => return None,
            };
            Some(NewRead {
                account_id,
                request_id: s.request_id,
                fields: fields.to_string(),
                via,
                at,
            })
        })
        .collect();
    if reads.is_empty() {
        return Ok(());
    }
    db.write(move |conn| audit::record(conn, &reads)).await
}

pub async fn page(db: &Db, limit: i64, offset: i64) -> DbResult<(Vec<ReadRow>, i64)> {
    db.read(move |conn| audit::page(conn, limit, offset)).await
}
