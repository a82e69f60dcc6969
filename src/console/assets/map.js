// The day board's map: the region's districts and villages as the base layer (no network
// needed), an optional online tile layer, requests coloured by status and sized by priority,
// each team's route as a numbered line, and the teams' live positions.

const STATUS_COLOURS = {
  submitted: '#6b7280', scheduled: '#2563eb', in_progress: '#d97706',
  completed: '#16a34a', missed: '#dc2626', cancelled: '#9ca3af',
};
const PRIORITY_RADIUS = { urgent: 9, high: 7, normal: 5, low: 4 };
export const TEAM_COLOURS = ['#7c3aed', '#0891b2', '#be123c', '#4d7c0f', '#c2410c', '#1d4ed8', '#a21caf', '#0f766e'];

export function teamColour(teamId) {
  return TEAM_COLOURS[Math.abs(teamId) % TEAM_COLOURS.length];
}

export class BoardMap {
  constructor(element, tileUrl) {
    const L = window.L;
    this.L = L;
    this.map = L.map(element, { zoomSnap: 0.25, preferCanvas: true }).setView([-7.86, 110.16], 11);
    if (tileUrl) {
      L.tileLayer(tileUrl, { maxZoom: 18, attribution: '&copy; OpenStreetMap' }).addTo(this.map);
    }
    this.base = L.layerGroup().addTo(this.map);
    this.requests = L.layerGroup().addTo(this.map);
    this.routes = L.layerGroup().addTo(this.map);
    this.teams = L.layerGroup().addTo(this.map);
    this.teamMarkers = new Map();
  }

  async loadBase() {
    const L = this.L;
    const [villages, districts] = await Promise.all([
      fetch('geo/villages.geojson').then((r) => r.json()),
      fetch('geo/districts.geojson').then((r) => r.json()),
    ]);
    L.geoJSON(villages, {
      style: { color: '#94a3b8', weight: 0.6, fillColor: '#f8fafc', fillOpacity: 0.6 },
      onEachFeature: (f, layer) => layer.bindTooltip(f.properties.nama, { sticky: true }),
    }).addTo(this.base);
    const outline = L.geoJSON(districts, {
      style: { color: '#334155', weight: 1.5, fill: false },
    }).addTo(this.base);
    this.map.fitBounds(outline.getBounds(), { padding: [8, 8] });
  }

  showRequests(requests, onPick) {
    const L = this.L;
    this.requests.clearLayers();
    for (const r of requests) {
      const marker = L.circleMarker([r.location.lat, r.location.lon], {
        radius: PRIORITY_RADIUS[r.priority] || 5,
        color: '#111827', weight: r.priority === 'urgent' ? 2 : 0.8,
        fillColor: STATUS_COLOURS[r.status] || '#6b7280', fillOpacity: 0.85,
      });
      marker.bindTooltip(`#${r.id} · ${r.status} · ${r.priority}`);
      marker.on('click', () => onPick(r));
      marker.addTo(this.requests);
    }
  }

  showRoutes(routes, teams) {
    const L = this.L;
    this.routes.clearLayers();
    for (const route of routes) {
      const colour = teamColour(route.team_id);
      const team = teams.get(route.team_id);
      const points = route.stops.map((s) => [s.location.lat, s.location.lon]);
      if (team) {
        points.unshift([team.depot.lat, team.depot.lon]);
        points.push([team.depot.lat, team.depot.lon]);
      }
      L.polyline(points, { color: colour, weight: 3, opacity: 0.8 }).addTo(this.routes);
      route.stops.forEach((s, i) => {
        L.marker([s.location.lat, s.location.lon], {
          icon: L.divIcon({ className: 'stop-number', html: `<span class="team-${route.team_id % 8}">${i + 1}</span>`, iconSize: [18, 18] }),
          keyboard: false,
        }).bindTooltip(`${route.team_name} #${i + 1}: ${s.planned_start}`).addTo(this.routes);
      });
    }
  }

  moveTeam(teamId, name, lat, lon) {
    const L = this.L;
    let marker = this.teamMarkers.get(teamId);
    if (!marker) {
      marker = L.marker([lat, lon], {
        icon: L.divIcon({ className: 'team-marker', html: `<span class="team-${teamId % 8}">${name}</span>`, iconSize: null }),
        title: name, alt: name,
      }).addTo(this.teams);
      marker.getElement()?.setAttribute('data-team', String(teamId));
      this.teamMarkers.set(teamId, marker);
    } else {
      marker.setLatLng([lat, lon]);
    }
    const el = marker.getElement();
    if (el) {
      el.dataset.team = String(teamId);
      el.dataset.lat = lat.toFixed(5);
      el.dataset.lon = lon.toFixed(5);
    }
  }
}
