// The coordinator console: sign in, the day board (map, timeline, requests, unassigned, KPIs),
// planning and publishing, rebalancing with the API's preview, and the region's live stream.

import { ApiError, call, follow, get, signIn, signOut, signedIn } from './api.js';
import { language, setLanguage, t } from './i18n.js';
import { barChart, columnChart } from './charts.js';
import { BoardMap } from './map.js';
import { renderTimeline } from './timeline.js';

const $ = (id) => document.getElementById(id);

const state = {
  me: null,
  region: null,
  teams: new Map(),
  requests: [],
  day: null,
  plan: null,
  // The newest `plan_progress` event of the plan being watched.
  progress: null,
  // Arrivals re-estimated from the teams' positions: request id → {at: 'HH:MM', late}.
  etas: new Map(),
  map: null,
  moving: null,
};

function say(text, kind = 'info') {
  const el = $('message');
  el.textContent = text;
  el.className = `message ${kind}`;
}

function fail(error) {
  console.error(error);
  say(t('error', { message: error.message }), 'error');
}

/// The region's calendar day `offset` days from today, `YYYY-MM-DD`.
function regionDay(offset = 0) {
  const at = new Date(Date.now() + offset * 86400000);
  return new Intl.DateTimeFormat('en-CA', { timeZone: state.region.time_zone }).format(at);
}

function addDays(date, n) {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

const regionParam = () => (state.me.role === 'admin' ? `&region_id=${state.region.id}` : '');
const regionBody = () => (state.me.role === 'admin' ? { region_id: state.region.id } : {});

// ---- sign-in -------------------------------------------------------------------------------

async function onSignIn(event) {
  event.preventDefault();
  try {
    await signIn($('username').value.trim(), $('password').value);
    $('password').value = '';
    await start();
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) say(t('wrong_password'), 'error');
    else fail(error);
  }
}

async function start() {
  state.me = await get('/v1/me');
  const regions = await get('/v1/regions');
  state.region = regions.find((r) => r.id === state.me.region_id) || regions[0];
  $('region-name').textContent = `${state.region.name} · ${state.region.time_zone}`;
  $('sign-in-view').hidden = true;
  $('board-view').hidden = false;
  $('sign-out').hidden = false;
  say(t('signed_in_as', { name: state.me.display_name }));
  const tiles = new URLSearchParams(location.search).get('tiles') || localStorage.getItem('jemput.tiles');
  if (tiles) localStorage.setItem('jemput.tiles', tiles);
  state.map = new BoardMap($('map'), tiles);
  await state.map.loadBase();
  const teams = await get(`/v1/teams?${regionParam().slice(1)}`);
  state.teams = new Map(teams.map((team) => [team.id, team]));
  $('absent-team').replaceChildren(...teams.map((team) => new Option(team.name, team.id)));
  $('day').value = regionDay(1);
  $('kpi-from').value = regionDay(-13);
  $('kpi-to').value = regionDay(7);
  $('plan-from').value = regionDay(1);
  follow(state.region.id, onLive, (up) => {
    const el = $('live-state');
    el.dataset.i18n = up ? 'live_on' : 'live_off';
    el.textContent = t(el.dataset.i18n);
    el.classList.toggle('on', up);
  });
  await Promise.all([loadRequests(), loadDay()]);
}

// ---- data ----------------------------------------------------------------------------------

async function loadRequests() {
  const all = [];
  for (let offset = 0; ; offset += 200) {
    const page = await get(`/v1/requests?limit=200&offset=${offset}${regionParam()}`);
    all.push(...page.items);
    if (all.length >= page.total || page.items.length === 0) break;
  }
  state.requests = all;
  renderRequests();
}

async function loadDay() {
  const { data, etag } = await call('GET', `/v1/routes?date=${$('day').value}${regionParam()}`);
  state.day = { ...data, etag };
  renderDay();
}

// ---- rendering -----------------------------------------------------------------------------

function renderDay() {
  const day = state.day;
  state.map.showRoutes(day.routes, state.teams);
  renderTimeline($('timeline'), day, state.teams, openMove, state.etas);
  renderKpis();
}

function kpi(label, value) {
  const box = document.createElement('div');
  box.className = 'kpi';
  const v = document.createElement('strong');
  v.textContent = value;
  const l = document.createElement('span');
  l.textContent = label;
  box.append(v, l);
  return box;
}

function renderKpis() {
  const routes = state.day ? state.day.routes : [];
  const stops = routes.flatMap((r) => r.stops);
  const late = stops.filter((s) => s.planned_start > s.window[1]).length;
  const km = routes.reduce((sum, r) => sum + r.distance_km, 0);
  const unassigned = state.plan?.draft ? state.plan.draft.unassigned.length : state.requests.filter((r) => r.status === 'submitted').length;
  $('kpis').replaceChildren(
    kpi(t('kpi_visits'), stops.length),
    kpi(t('kpi_routes'), routes.length),
    kpi(t('kpi_km'), km.toFixed(1)),
    kpi(t('kpi_late'), late),
    kpi(t('kpi_unassigned'), unassigned),
  );
}

function renderRequests() {
  const query = $('search').value.trim().toLowerCase();
  const status = $('status-filter').value;
  const shown = state.requests.filter((r) => (!status || r.status === status)
    && (!query || `${r.id} ${r.address} ${r.priority}`.toLowerCase().includes(query)));
  state.map.showRequests(shown, (r) => say(`#${r.id} · ${r.address} · ${t(`st_${r.status}`)} · ${t('priority')} ${r.priority}`));
  const items = shown.slice(0, 300).map((r) => {
    const li = document.createElement('li');
    li.className = `st-${r.status}`;
    li.textContent = `#${r.id} · ${t(`st_${r.status}`)} · ${r.priority} · ${r.address}`;
    return li;
  });
  $('request-list').replaceChildren(...items);
  renderUnassigned();
  renderKpis();
}

function renderUnassigned() {
  const list = $('unassigned-list');
  const draft = state.plan?.draft;
  if (!draft || !draft.unassigned.length) {
    list.replaceChildren(Object.assign(document.createElement('li'), { textContent: t('none') }));
    return;
  }
  list.replaceChildren(...draft.unassigned.map((u) => {
    const li = document.createElement('li');
    li.textContent = `#${u.request_id} · ${u.reason}: ${u.detail}`;
    return li;
  }));
}

// ---- KPIs ----------------------------------------------------------------------------------

let kpiReport = null;

async function loadKpis() {
  try {
    kpiReport = await get(`/v1/regions/${state.region.id}/kpis?from=${$('kpi-from').value}&to=${$('kpi-to').value}`);
    renderKpiTab();
  } catch (error) {
    fail(error);
  }
}

const oneDecimal = (x) => (x === null || x === undefined ? '–' : x.toFixed(1));

function renderKpiTab() {
  const report = kpiReport;
  if (!report) return;
  const total = report.total;
  $('kpi-summary').textContent = t('kpi_summary', {
    served: total.served,
    mean: oneDecimal(total.wait_days_mean),
    p90: total.wait_days_p90 ?? '–',
    missed: total.deadlines_missed,
    kmv: oneDecimal(total.km_per_visit),
  });
  const days = report.days.map((d) => ({
    label: d.date.slice(8),
    value: d.served,
    tip: `${d.date}: ${d.served} · ${t('kpi_missed')} ${d.deadlines_missed} · ${oneDecimal(d.km_per_visit)} km`,
  }));
  $('kpi-served-chart').replaceChildren(columnChart(t('kpi_served_per_day'), days, { labelEvery: Math.ceil(days.length / 14) }));
  const reasons = report.unassigned_by_reason.map((r) => ({ label: r.reason, value: r.count }));
  $('kpi-reasons-chart').replaceChildren(reasons.length ? barChart(t('kpi_reasons'), reasons) : Object.assign(document.createElement('p'), { textContent: t('none') }));
  $('kpi-districts').replaceChildren(...report.districts.map((d) => {
    const tr = document.createElement('tr');
    const cells = [d.district ?? t('outside'), d.served, `${oneDecimal(d.wait_days_mean)} / ${d.wait_days_p90 ?? '–'}`, d.deadlines_missed, d.unassigned];
    tr.replaceChildren(...cells.map((c) => Object.assign(document.createElement('td'), { textContent: String(c) })));
    return tr;
  }));
}

// ---- planning ------------------------------------------------------------------------------

async function startPlan() {
  const from = $('plan-from').value;
  const days = Math.max(1, Math.min(14, Number($('plan-days').value) || 1));
  const dates = Array.from({ length: days }, (_, i) => addDays(from, i));
  const limit = Math.max(1, Number($('plan-limit').value) || 5);
  try {
    $('plan-publish').hidden = true;
    const { data } = await call('POST', '/v1/plans', { ...regionBody(), dates, time_limit_seconds: limit });
    state.plan = data;
    state.progress = null;
    $('plan-progress').hidden = false;
    watchPlan(data.id);
  } catch (error) {
    fail(error);
  }
}

async function watchPlan(id) {
  const plan = await get(`/v1/plans/${id}`);
  state.plan = plan;
  const progress = $('plan-progress');
  const status = $('plan-status');
  if (plan.status === 'queued' || plan.status === 'running') {
    const elapsed = plan.started_at ? (Date.now() - Date.parse(plan.started_at)) / 1000 : 0;
    progress.value = Math.min(elapsed / plan.time_limit_seconds, 1);
    if (plan.status === 'queued') status.textContent = t('plan_queued');
    else if (!state.progress) status.textContent = t('plan_running', { s: elapsed.toFixed(0) });
    setTimeout(() => watchPlan(id), 500);
    return;
  }
  progress.value = 1;
  if (plan.status === 'failed') {
    status.textContent = t('plan_failed', { error: plan.error || '' });
    return;
  }
  const k = plan.draft.kpis;
  status.textContent = t('plan_done', { visits: k.visits, unassigned: k.unassigned, km: k.distance_km.toFixed(1) });
  const live = await Promise.all(plan.dates.map((d) => get(`/v1/routes?date=${d}${regionParam()}`)));
  const liveRoutes = live.flatMap((d) => d.routes);
  say(t('draft_vs_live', {
    km: k.distance_km.toFixed(1),
    live_km: liveRoutes.reduce((s, r) => s + r.distance_km, 0).toFixed(1),
    visits: k.visits,
    live_visits: liveRoutes.reduce((s, r) => s + r.stops.length, 0),
  }));
  $('plan-publish').hidden = plan.published_at !== undefined && plan.published_at !== null;
  renderUnassigned();
  renderKpis();
}

async function publishPlan() {
  try {
    const { data } = await call('POST', `/v1/plans/${state.plan.id}/publish`, {});
    $('plan-publish').hidden = true;
    say(t('plan_published', { routes: data.routes_changed }), 'ok');
    const first = state.plan.draft.routes[0];
    if (first) $('day').value = first.date;
    await Promise.all([loadDay(), loadRequests()]);
  } catch (error) {
    fail(error);
  }
}

// ---- rebalancing ---------------------------------------------------------------------------

function routeOf(requestId) {
  return state.day.routes.find((r) => r.stops.some((s) => s.request_id === requestId));
}

function openMove(requestId, targetTeam) {
  const route = routeOf(requestId);
  if (!route) return;
  state.moving = { requestId, route, preview: null };
  $('move-what').textContent = `#${requestId} · ${route.team_name} · ${route.date}`;
  const others = [...state.teams.values()];
  $('move-team').replaceChildren(...others.map((team) => new Option(team.name, team.id)));
  const fallback = others.find((team) => team.id !== route.team_id);
  $('move-team').value = String(targetTeam ?? fallback?.id ?? route.team_id);
  $('move-day').value = route.date;
  $('preview').replaceChildren();
  $('move-apply').disabled = true;
  $('move-dialog').showModal();
  if (targetTeam) previewMove();
}

async function moveBody() {
  const { requestId } = state.moving;
  const toTeam = Number($('move-team').value);
  const toDate = $('move-day').value;
  const targetDay = toDate === state.day.date ? state.day : await get(`/v1/routes?date=${toDate}${regionParam()}`);
  const target = targetDay.routes.find((r) => r.team_id === toTeam);
  const body = { op: 'move', request_id: requestId, to_team_id: toTeam, to_date: toDate };
  if (target && target.id !== state.moving.route.id) body.target_version = target.version;
  return body;
}

async function change(route, body, preview) {
  return call('POST', `/v1/routes/${route.id}/changes?preview=${preview}`, body, { 'if-match': `"${route.version}"` });
}

async function onConflict(error) {
  if (error instanceof ApiError && error.status === 409) {
    $('move-dialog').close();
    say(t('conflict'), 'error');
    await loadDay();
    return true;
  }
  return false;
}

async function previewMove() {
  try {
    const body = await moveBody();
    const { data } = await change(state.moving.route, body, true);
    state.moving.body = body;
    const p = data; // the preview is flattened into the change result
    const added = p.routes.reduce((s, r) => s + r.added_km, 0);
    const shifted = p.routes.flatMap((r) => r.stops).filter((s) => s.window_changed).length;
    const lines = [
      t('preview_added_km', { km: added.toFixed(1) }),
      t('preview_windows', { n: shifted }),
      t('preview_broken', { n: p.newly_infeasible.length }),
      t('preview_citizens', { n: p.citizens_told }),
    ];
    $('preview').replaceChildren(...lines.map((line) => Object.assign(document.createElement('p'), { textContent: line })));
    $('move-apply').disabled = false;
  } catch (error) {
    if (!(await onConflict(error))) fail(error);
  }
}

async function applyMove() {
  try {
    await change(state.moving.route, state.moving.body, false);
    $('move-dialog').close();
    say(t('applied'), 'ok');
    await loadDay();
  } catch (error) {
    if (!(await onConflict(error))) fail(error);
  }
}

async function simpleChange(body, done) {
  try {
    await change(state.moving.route, body, false);
    $('move-dialog').close();
    say(t(done), 'ok');
    await loadDay();
  } catch (error) {
    if (!(await onConflict(error))) fail(error);
  }
}

async function dayChange(path, body, done) {
  try {
    await call('POST', path, body, { 'if-match': state.day.etag });
    say(t(done), 'ok');
    await loadDay();
  } catch (error) {
    if (error instanceof ApiError && error.status === 409) {
      say(t('conflict'), 'error');
      await loadDay();
    } else fail(error);
  }
}

// ---- live ----------------------------------------------------------------------------------

let reloadTimer = null;
function onLive(kind, data) {
  if (kind === 'route_changed' && data.dates.includes($('day').value)) {
    clearTimeout(reloadTimer);
    reloadTimer = setTimeout(() => loadDay().catch(fail), 300);
  } else if (kind === 'field_report') {
    const request = state.requests.find((r) => r.id === data.request_id);
    if (request) request.status = data.status;
    say(t('field_report', { id: data.request_id, report: data.report }));
    renderRequests();
  } else if (kind === 'plan_progress' && data.plan_id === state.plan?.id && !state.plan.draft) {
    state.progress = data;
    $('plan-status').textContent = t('plan_best', {
      s: (data.elapsed_ms / 1000).toFixed(1),
      assigned: data.assigned,
      requests: data.requests,
      cost: Math.round(data.best_cost).toLocaleString(language()),
    });
    $('plan-status').dataset.bestCost = String(data.best_cost);
  } else if (kind === 'eta_update' && data.date === $('day').value) {
    const clock = new Intl.DateTimeFormat('en-GB', { timeZone: state.region.time_zone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    for (const stop of data.stops) state.etas.set(stop.request_id, { at: clock.format(new Date(stop.eta)), late: stop.late });
    if (state.day) renderTimeline($('timeline'), state.day, state.teams, openMove, state.etas);
  } else if (kind === 'position') {
    const teamId = data.team_ids[0];
    const team = state.teams.get(teamId);
    if (team) state.map.moveTeam(teamId, team.name, data.lat, data.lon);
  }
}

// ---- wiring --------------------------------------------------------------------------------

function selectTab(which) {
  for (const name of ['requests', 'unassigned', 'kpis']) {
    $(`tab-${name}`).setAttribute('aria-selected', String(name === which));
    $(`pane-${name}`).hidden = name !== which;
  }
  if (which === 'kpis' && !kpiReport) loadKpis();
}

function wire() {
  $('lang').value = language();
  $('lang').addEventListener('change', (e) => {
    setLanguage(e.target.value);
    if (state.day) {
      renderDay();
      renderRequests();
      renderKpiTab();
    }
  });
  $('sign-in').addEventListener('submit', onSignIn);
  $('sign-out').addEventListener('click', () => {
    signOut();
    location.reload();
  });
  $('day').addEventListener('change', () => loadDay().catch(fail));
  $('search').addEventListener('input', renderRequests);
  $('status-filter').addEventListener('change', renderRequests);
  $('tab-requests').addEventListener('click', () => selectTab('requests'));
  $('tab-unassigned').addEventListener('click', () => selectTab('unassigned'));
  $('tab-kpis').addEventListener('click', () => selectTab('kpis'));
  $('kpi-load').addEventListener('click', loadKpis);
  $('plan-start').addEventListener('click', startPlan);
  $('plan-publish').addEventListener('click', publishPlan);
  $('move-preview').addEventListener('click', previewMove);
  $('move-apply').addEventListener('click', applyMove);
  $('move-cancel').addEventListener('click', () => $('move-dialog').close());
  $('move-team').addEventListener('change', () => { $('move-apply').disabled = true; });
  $('move-day').addEventListener('change', () => { $('move-apply').disabled = true; });
  $('move-pin').addEventListener('click', () => simpleChange({ op: 'pin', request_id: state.moving.requestId, pinned: true }, 'pin_done'));
  $('move-lock').addEventListener('click', () => simpleChange({ op: 'lock', locked: true }, 'lock_done'));
  $('absent').addEventListener('click', () => dayChange(
    `/v1/teams/${$('absent-team').value}/absences`,
    { date: $('day').value, reason: $('absent-reason').value.trim() || '-' },
    'absent_done',
  ));
  $('replan').addEventListener('click', () => dayChange(`/v1/days/${$('day').value}/replan`, regionBody(), 'replan_done'));
}

setLanguage(language());
wire();
if (signedIn()) start().catch((error) => {
  signOut();
  fail(error);
});
