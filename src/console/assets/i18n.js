// Words of the console: Bahasa Indonesia first, English second.
const words = {
  id: {
    title: 'Konsol Koordinator', language: 'Bahasa', sign_out: 'Keluar',
    sign_in_title: 'Masuk sebagai staf', username: 'Nama pengguna', password: 'Kata sandi',
    sign_in: 'Masuk', day: 'Hari', planning: 'Perencanaan', from: 'Dari', days: 'Jumlah hari',
    time_limit: 'Batas waktu (detik)', plan_start: 'Buat rencana', publish: 'Terbitkan',
    today_actions: 'Hari ini', team: 'Tim', mark_absent: 'Tandai tidak hadir',
    replan_rest: 'Rencanakan ulang sisa hari', requests: 'Permohonan', unassigned: 'Belum terjadwal',
    search: 'Cari', status: 'Status', all: 'Semua', st_submitted: 'Diajukan', st_scheduled: 'Terjadwal',
    st_in_progress: 'Sedang dilayani', st_completed: 'Selesai', st_missed: 'Terlewat',
    st_cancelled: 'Dibatalkan', timeline: 'Linimasa tim',
    timeline_help: 'Pilih kunjungan (Enter), lalu pilih tim tujuan untuk melihat pratinjau pemindahan.',
    move_title: 'Pindahkan kunjungan', to_team: 'Ke tim', to_day: 'Ke hari', preview: 'Pratinjau',
    pin: 'Sematkan', lock_route: 'Kunci rute', apply: 'Terapkan', cancel: 'Batal',
    live_on: 'Langsung', live_off: 'Tidak terhubung', map: 'Peta',
    kpi_visits: 'Kunjungan', kpi_routes: 'Rute', kpi_km: 'km', kpi_unassigned: 'Belum terjadwal',
    kpi_late: 'Terlambat', plan_queued: 'Menunggu giliran…', plan_running: 'Sedang merencanakan… {s} dtk',
    plan_best: 'Terbaik sejauh ini ({s} dtk): {assigned}/{requests} terjadwal, biaya {cost}',
    plan_done: 'Draf siap: {visits} kunjungan, {unassigned} belum terjadwal, {km} km',
    plan_failed: 'Perencanaan gagal: {error}', plan_published: 'Rencana diterbitkan: {routes} rute berubah',
    draft_vs_live: 'Draf dibanding yang terbit: {km} km (terbit {live_km}), {visits} kunjungan (terbit {live_visits})',
    no_routes: 'Belum ada rute terbit untuk hari ini.', stop: 'Kunjungan', window: 'Janji',
    planned: 'Rencana', late: 'terlambat', pinned: 'disematkan', locked: 'terkunci', absent: 'tidak hadir',
    preview_added_km: 'Tambahan jarak: {km} km', preview_windows: 'Janji yang bergeser: {n}',
    preview_broken: 'Aturan yang baru dilanggar: {n}', preview_citizens: 'Warga yang akan diberi tahu: {n}',
    applied: 'Perubahan diterapkan.', conflict: 'Orang lain baru saja mengubah rute ini. Rute dimuat ulang; silakan coba lagi.',
    signed_in_as: 'Masuk sebagai {name}', wrong_password: 'Nama pengguna atau kata sandi salah.',
    error: 'Terjadi kesalahan: {message}', priority: 'Prioritas', reason: 'Alasan', team_moved: 'Posisi tim diperbarui',
    absent_done: 'Tim ditandai tidak hadir; kunjungannya dibagi ke tim lain.', replan_done: 'Sisa hari direncanakan ulang.',
    pin_done: 'Kunjungan disematkan.', lock_done: 'Rute dikunci.', travel: 'perjalanan', none: 'Tidak ada.',
    field_report: 'Laporan lapangan: permohonan {id} {report}',
    eta: 'Perkiraan tiba', late_risk: 'berisiko terlambat',
    kpi_tab: 'KPI', to: 'Sampai', show: 'Tampilkan', kpi_served_per_day: 'Kunjungan dilayani per hari',
    kpi_reasons: 'Belum terjadwal menurut alasan', kpi_districts: 'Per kecamatan', district: 'Kecamatan',
    kpi_served: 'Dilayani', kpi_wait: 'Tunggu (hari)', kpi_missed: 'Lewat batas', outside: 'Di luar kecamatan',
    kpi_summary: '{served} dilayani · tunggu rata-rata {mean} hari (P90 {p90}) · {missed} lewat batas · {kmv} km per kunjungan',
  },
  en: {
    title: 'Coordinator console', language: 'Language', sign_out: 'Sign out',
    sign_in_title: 'Staff sign-in', username: 'Username', password: 'Password',
    sign_in: 'Sign in', day: 'Day', planning: 'Planning', from: 'From', days: 'Days',
    time_limit: 'Time limit (seconds)', plan_start: 'Plan', publish: 'Publish',
    today_actions: 'Today', team: 'Team', mark_absent: 'Mark absent',
    replan_rest: 'Re-plan the rest of the day', requests: 'Requests', unassigned: 'Unassigned',
    search: 'Search', status: 'Status', all: 'All', st_submitted: 'Submitted', st_scheduled: 'Scheduled',
    st_in_progress: 'In progress', st_completed: 'Done', st_missed: 'Missed',
    st_cancelled: 'Cancelled', timeline: 'Team timeline',
    timeline_help: 'Select a visit (Enter), then choose the target team to preview the move.',
    move_title: 'Move a visit', to_team: 'To team', to_day: 'To day', preview: 'Preview',
    pin: 'Pin', lock_route: 'Lock route', apply: 'Apply', cancel: 'Cancel',
    live_on: 'Live', live_off: 'Not connected', map: 'Map',
    kpi_visits: 'Visits', kpi_routes: 'Routes', kpi_km: 'km', kpi_unassigned: 'Unassigned',
    kpi_late: 'Late', plan_queued: 'Queued…', plan_running: 'Planning… {s} s',
    plan_best: 'Best so far ({s} s): {assigned}/{requests} placed, cost {cost}',
    plan_done: 'Draft ready: {visits} visits, {unassigned} unassigned, {km} km',
    plan_failed: 'Planning failed: {error}', plan_published: 'Plan published: {routes} routes changed',
    draft_vs_live: 'Draft against published: {km} km (published {live_km}), {visits} visits (published {live_visits})',
    no_routes: 'No published routes for this day yet.', stop: 'Visit', window: 'Promised',
    planned: 'Planned', late: 'late', pinned: 'pinned', locked: 'locked', absent: 'absent',
    preview_added_km: 'Added distance: {km} km', preview_windows: 'Promised windows shifted: {n}',
    preview_broken: 'Rules newly broken: {n}', preview_citizens: 'Citizens to be told: {n}',
    applied: 'Change applied.', conflict: 'Someone else just changed this route. It was reloaded; please try again.',
    signed_in_as: 'Signed in as {name}', wrong_password: 'Wrong username or password.',
    error: 'Something went wrong: {message}', priority: 'Priority', reason: 'Reason', team_moved: 'Team position updated',
    absent_done: 'Team marked absent; its visits went to the other teams.', replan_done: 'The rest of the day was re-planned.',
    pin_done: 'Visit pinned.', lock_done: 'Route locked.', travel: 'travel', none: 'None.',
    field_report: 'Field report: request {id} {report}',
    eta: 'Expected arrival', late_risk: 'at risk of being late',
    kpi_tab: 'KPIs', to: 'To', show: 'Show', kpi_served_per_day: 'Visits served per day',
    kpi_reasons: 'Unassigned by reason', kpi_districts: 'Per district', district: 'District',
    kpi_served: 'Served', kpi_wait: 'Wait (days)', kpi_missed: 'Deadline missed', outside: 'Outside the districts',
    kpi_summary: '{served} served · mean wait {mean} days (P90 {p90}) · {missed} deadlines missed · {kmv} km per visit',
  },
};

let lang = localStorage.getItem('jemput.lang') || 'id';

export function t(key, vars = {}) {
  const text = (words[lang] && words[lang][key]) || words.id[key] || key;
  return text.replace(/\{(\w+)\}/g, (_, name) => (name in vars ? String(vars[name]) : ''));
}

export function language() {
  return lang;
}

export function setLanguage(next) {
  lang = words[next] ? next : 'id';
  localStorage.setItem('jemput.lang', lang);
  document.documentElement.lang = lang;
  for (const el of document.querySelectorAll('[data-i18n]')) {
    el.textContent = t(el.dataset.i18n);
  }
}
