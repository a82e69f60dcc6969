//! The citizen's visit page, `/v/{token}`: what a citizen (or whoever they forward the link
//! to) may see of one visit, from a signed link that expires: the service, the day, the
//! promised window, the status, and once the team is on its way its estimated arrival. Nothing
//! else: no name, address or phone, nothing about other citizens. Plain HTML and one small
//! stylesheet, a few kilobytes for a 2G phone; it reloads itself every minute while the visit
//! is still to come.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use crate::api::AppState;
use crate::db::visit_page::{self, VisitPage};
use crate::db::DbError;
use crate::domain::{Language, RegionClock, RequestStatus};
use crate::push::messages::long_date;

#[derive(Deserialize)]
pub struct LanguageQuery {
    lang: Option<String>,
}

impl LanguageQuery {
    /// The language the reader chose with `?lang=`; anything unknown is ignored.
    fn language(&self) -> Option<Language> {
        self.lang.as_deref().and_then(|code| code.parse().ok())
    }
}

pub async fn page(
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<LanguageQuery>,
    request: HttpRequest,
) -> HttpResponse {
    let Some(request_id) = state.keys.verify_visit_link(&path.into_inner()) else {
        return html(404, &gone_page(query.language()));
    };
    let read = state
        .db
        .read_consistent(move |conn| visit_page::read(conn, request_id))
        .await;
    match read {
        Ok(visit) => {
            let language = query.language().unwrap_or(visit.language);
            html(200, &visit_html(&visit, language, request.path()))
        }
        Err(DbError::NotFound) => html(404, &gone_page(query.language())),
        Err(e) => {
            tracing::error!(error = %e, "visit page unreadable");
            html(503, &gone_page(query.language()))
        }
    }
}

fn html(status: u16, body: &str) -> HttpResponse {
    let status = actix_web::http::StatusCode::from_u16(status)
        .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR);
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        // Personal, changing, and the link is the key: not cached, not indexed, not leaked to
        // other sites in a Referer.
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header(("x-robots-tag", "noindex"))
        .body(body.to_string())
}

/// Words of the page: Bahasa Indonesia unless the reader chose English.
struct Words {
    /// The page's language, as `lang`.
    code: Language,
    title: &'static str,
    service: &'static str,
    status: &'static str,
    day: &'static str,
    window: &'static str,
    eta: &'static str,
    not_scheduled: &'static str,
    refreshes: &'static str,
    expired: &'static str,
    /// The other language: its code and its name, for the switch.
    other_code: Language,
    other_name: &'static str,
}

fn words(language: Language) -> Words {
    if language == Language::En {
        Words {
            code: Language::En,
            title: "Your Jemput visit",
            service: "Service",
            status: "Status",
            day: "Day",
            window: "Promised time",
            eta: "Expected arrival",
            not_scheduled: "Not scheduled yet: we will send the day and time.",
            refreshes: "The page updates itself every minute.",
            expired: "This link has expired or is not valid. Open the Jemput app for your visits.",
            other_code: Language::Id,
            other_name: "Bahasa Indonesia",
        }
    } else {
        Words {
            code: Language::Id,
            title: "Kunjungan Jemput Anda",
            service: "Layanan",
            status: "Status",
            day: "Hari",
            window: "Jam yang dijanjikan",
            eta: "Perkiraan tiba",
            not_scheduled: "Belum dijadwalkan: hari dan jamnya akan kami kirim.",
            refreshes: "Halaman ini diperbarui sendiri setiap menit.",
            expired:
                "Tautan ini sudah tidak berlaku. Buka aplikasi Jemput untuk melihat kunjungan Anda.",
            other_code: Language::En,
            other_name: "English",
        }
    }
}

fn status_text(language: Language, status: RequestStatus, on_the_way: bool) -> &'static str {
    let en = language == Language::En;
    match (status, on_the_way) {
        (RequestStatus::Scheduled, true) => {
            if en {
                "The team is on its way"
            } else {
                "Tim sedang dalam perjalanan"
            }
        }
        (RequestStatus::Submitted, _) => {
            if en {
                "Waiting to be scheduled"
            } else {
                "Menunggu dijadwalkan"
            }
        }
        (RequestStatus::Scheduled, false) => {
            if en {
                "Scheduled"
            } else {
                "Terjadwal"
            }
        }
        (RequestStatus::InProgress, _) => {
            if en {
                "The team has arrived"
            } else {
                "Tim sudah tiba"
            }
        }
        (RequestStatus::Completed, _) => {
            if en {
                "Done"
            } else {
                "Selesai"
            }
        }
        (RequestStatus::Missed, _) => {
            if en {
                "Missed: it will be scheduled again"
            } else {
                "Terlewat: akan dijadwalkan ulang"
            }
        }
        (RequestStatus::Cancelled, _) => {
            if en {
                "Cancelled"
            } else {
                "Dibatalkan"
            }
        }
    }
}

fn visit_html(visit: &VisitPage, language: Language, path: &str) -> String {
    let w = words(language);
    let clock = RegionClock::of_zone(&visit.time_zone)
        .unwrap_or_else(|_| RegionClock::new(chrono_tz::Asia::Jakarta));
    let service = if w.code == Language::En {
        &visit.kind.name_en
    } else {
        &visit.kind.name_id
    };
    let status = visit.request.status;
    // An estimate counts only for the day the visit is on now (not a missed earlier attempt).
    let eta = visit.eta.map(|at| clock.zoned(at)).filter(|eta| {
        status == RequestStatus::Scheduled && visit.stop.is_some_and(|s| s.date == eta.date_naive())
    });
    let mut rows = vec![
        (w.service, escape(service)),
        (
            w.status,
            status_text(w.code, status, eta.is_some()).to_string(),
        ),
    ];
    let upcoming = matches!(status, RequestStatus::Scheduled | RequestStatus::InProgress);
    match visit.stop.filter(|_| upcoming) {
        Some(stop) => {
            let start = clock.zoned(stop.window_start);
            let end = clock.zoned(stop.window_end);
            rows.push((w.day, long_date(w.code, stop.date)));
            rows.push((
                w.window,
                format!(
                    "{}–{} {}",
                    start.format("%H:%M"),
                    end.format("%H:%M"),
                    start.format("%Z")
                ),
            ));
            if let Some(eta) = eta {
                rows.push((
                    w.eta,
                    format!("{} {}", eta.format("%H:%M"), eta.format("%Z")),
                ));
            }
        }
        None if status == RequestStatus::Submitted || status == RequestStatus::Missed => {
            rows.push((w.day, w.not_scheduled.to_string()));
        }
        None => {}
    }
    let list: String = rows
        .iter()
        .map(|(term, value)| format!("<dt>{term}</dt><dd>{value}</dd>"))
        .collect();
    let refresh = if upcoming {
        "<meta http-equiv=\"refresh\" content=\"60\">".to_string()
    } else {
        String::new()
    };
    let note = if upcoming {
        format!("<p class=\"note\">{}</p>", w.refreshes)
    } else {
        String::new()
    };
    format!(
        "<!doctype html><html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">{refresh}\
<title>{title}</title><link rel=\"stylesheet\" href=\"/console/visit.css\"></head>\
<body><main><h1>{title}</h1><dl>{list}</dl>{note}\
<p><a href=\"{path}?lang={other}\" hreflang=\"{other}\">{other_name}</a></p></main></body></html>",
        lang = w.code,
        title = w.title,
        path = escape(path),
        other = w.other_code,
        other_name = w.other_name,
    )
}

fn gone_page(language: Option<Language>) -> String {
    let w = words(language.unwrap_or(Language::Id));
    format!(
        "<!doctype html><html lang=\"{}\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
<title>{}</title><link rel=\"stylesheet\" href=\"/console/visit.css\"></head>\
<body><main><h1>{}</h1><p>{}</p></main></body></html>",
        w.code, w.title, w.title, w.expired
    )
}

/// Text for HTML: the five characters that could end an element or an attribute.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn escape_neutralises_markup() {
        assert_eq!(
            escape(r#"<script>"a" & 'b'</script>"#),
            "&lt;script&gt;&quot;a&quot; &amp; &#39;b&#39;&lt;/script&gt;"
        );
    }
}
