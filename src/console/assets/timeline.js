// The day's timeline: one row per team, visits as blocks at their planned local times, the
// promised window under each, travel between them, late stops marked. Every visit is a
// button (Tab to reach it, Enter to choose it); a visit can also be dragged onto another
// team's row. Both open the same move dialog.

import { t } from './i18n.js';

const minutes = (hhmm) => {
  const [h, m] = hhmm.split(':').map(Number);
  return h * 60 + m;
};

/// `etas`: request id → {at: 'HH:MM' local, late} re-estimated from the team's position.
export function renderTimeline(container, day, teams, onChoose, etas = new Map()) {
  container.replaceChildren();
  const routes = day ? day.routes : [];
  const times = routes.flatMap((r) => [minutes(r.leave), minutes(r.back)]);
  const start = Math.min(7 * 60, ...times);
  const end = Math.max(17 * 60, ...times);
  const place = (el, from, to) => {
    el.style.left = `${((from - start) / (end - start)) * 100}%`;
    el.style.width = `${Math.max(((to - from) / (end - start)) * 100, 0.4)}%`;
  };

  const scale = document.createElement('div');
  scale.className = 'tl-row tl-scale';
  scale.append(Object.assign(document.createElement('span'), { className: 'tl-label' }));
  const ticks = document.createElement('div');
  ticks.className = 'tl-track';
  for (let h = Math.ceil(start / 60); h * 60 <= end; h += 1) {
    const tick = document.createElement('span');
    tick.className = 'tl-tick';
    tick.textContent = `${String(h).padStart(2, '0')}:00`;
    place(tick, h * 60, h * 60);
    ticks.append(tick);
  }
  scale.append(ticks);
  container.append(scale);

  const absent = new Set(day ? day.absent_team_ids : []);
  for (const team of teams.values()) {
    const route = routes.find((r) => r.team_id === team.id);
    const row = document.createElement('div');
    row.className = 'tl-row';
    row.dataset.team = String(team.id);
    const label = document.createElement('span');
    label.className = `tl-label team-${team.id % 8}`;
    const flags = [absent.has(team.id) ? t('absent') : '', route && route.locked ? t('locked') : ''].filter(Boolean);
    label.textContent = `${team.name}${flags.length ? ` (${flags.join(', ')})` : ''}`;
    row.append(label);
    const track = document.createElement('div');
    track.className = 'tl-track';
    track.addEventListener('dragover', (e) => e.preventDefault());
    track.addEventListener('drop', (e) => {
      e.preventDefault();
      const requestId = Number(e.dataTransfer.getData('text/plain'));
      if (requestId) onChoose(requestId, team.id);
    });
    if (route) {
      let previousEnd = minutes(route.leave);
      route.stops.forEach((stop, i) => {
        const from = minutes(stop.planned_start);
        const to = minutes(stop.planned_end);
        if (from > previousEnd) {
          const travel = document.createElement('span');
          travel.className = 'tl-travel';
          travel.title = t('travel');
          place(travel, previousEnd, from);
          track.append(travel);
        }
        previousEnd = to;
        const window = document.createElement('span');
        window.className = 'tl-window';
        place(window, minutes(stop.window[0]), minutes(stop.window[1]));
        track.append(window);
        const late = from > minutes(stop.window[1]);
        const eta = etas.get(stop.request_id);
        if (eta) {
          const mark = document.createElement('span');
          mark.className = `tl-eta${eta.late ? ' at-risk' : ''}`;
          mark.dataset.request = String(stop.request_id);
          place(mark, minutes(eta.at), minutes(eta.at));
          mark.title = `${t('eta')} ${eta.at}`;
          track.append(mark);
        }
        const block = document.createElement('button');
        block.type = 'button';
        block.className = `tl-visit team-${team.id % 8} st-${stop.status}${late ? ' late' : ''}${eta?.late ? ' late-risk' : ''}${stop.pinned ? ' pinned' : ''}`;
        block.textContent = String(i + 1);
        block.draggable = true;
        block.dataset.request = String(stop.request_id);
        block.setAttribute('aria-label', `${t('stop')} ${i + 1}, #${stop.request_id}, ${team.name}, ${t('planned')} ${stop.planned_start}–${stop.planned_end}, ${t('window')} ${stop.window[0]}–${stop.window[1]}${late ? `, ${t('late')}` : ''}${eta ? `, ${t('eta')} ${eta.at}${eta.late ? ` (${t('late_risk')})` : ''}` : ''}${stop.pinned ? `, ${t('pinned')}` : ''}`);
        block.title = block.getAttribute('aria-label');
        block.addEventListener('click', () => onChoose(stop.request_id, null));
        block.addEventListener('dragstart', (e) => e.dataTransfer.setData('text/plain', String(stop.request_id)));
        place(block, from, to);
        track.append(block);
      });
    }
    row.append(track);
    container.append(row);
  }
  if (!routes.length) {
    const none = document.createElement('p');
    none.className = 'muted';
    none.textContent = t('no_routes');
    container.append(none);
  }
}
