// The map: Natural Earth countries (world-atlas, bundled) as the base layer, Filmo's projects on top.
// No glyphs, sprites or tiles from anywhere but this server: the style has no text layers; cluster counts
// are small canvas-drawn images made on demand (the missing-image resolver), shown by an icon-only symbol layer.
import * as maplibregl from "maplibre-gl";
import { feature, mesh } from "topojson-client";
import countries from "world-atlas/countries-50m.json";

import { API } from "./api.js";
import { TYPE_COLOURS } from "./labels.js";

maplibregl.setWorkerUrl(new URL("maplibre-gl-worker.mjs", import.meta.url).href);

const SOURCE = "projects";
const LAYER = "projects"; // the tile layer's name
// The first view: the film world from Los Angeles to Mumbai and beyond (not all 360°: a wider view would open
// at zoom < 1, where a tile's clusters are a quarter of the world wide).
const WORLD = [[-125, -38], [145, 62]];

/** A ring that crosses the antimeridian (Russia, Fiji) jumps from 180 to -180, which would draw a line
 * across the whole world: keep it continuous (longitudes past 180), MapLibre splits it across world copies. */
function unwrapRing(ring) {
  let offset = 0;
  return ring.map((point, i) => {
    if (i > 0) {
      const step = point[0] - ring[i - 1][0];
      if (step > 180) offset -= 360; else if (step < -180) offset += 360;
    }
    return [point[0] + offset, point[1]];
  });
}

function landShapes() {
  const land = feature(countries, countries.objects.countries);
  // Antarctica's ring runs along the edge of the world; nobody shoots a film crew call there.
  land.features = land.features.filter((f) => f.properties.name !== "Antarctica").map((f) => {
    const polygons = f.geometry.type === "Polygon" ? [f.geometry.coordinates] : f.geometry.coordinates;
    const coordinates = polygons.map((rings) => rings.map(unwrapRing));
    return { ...f, geometry: { type: "MultiPolygon", coordinates } };
  });
  return land;
}

function baseStyle() {
  const land = landShapes();
  const borders = mesh(countries, countries.objects.countries, (a, b) => a !== b);
  return {
    version: 8,
    sources: {
      countries: { type: "geojson", data: land, attribution: "Natural Earth" },
      borders: { type: "geojson", data: borders },
    },
    layers: [
      { id: "water", type: "background", paint: { "background-color": "#dbe6ee" } },
      { id: "land", type: "fill", source: "countries", paint: { "fill-color": "#f6f3ec" } },
      { id: "borders", type: "line", source: "borders",
        paint: { "line-color": "#c4bcae", "line-width": ["interpolate", ["linear"], ["zoom"], 1, 0.5, 8, 1.5] } },
    ],
  };
}

const typeColour = ["match", ["get", "type"], ...Object.entries(TYPE_COLOURS).flat(), TYPE_COLOURS.other];

const LAYERS = [
  { id: "clusters", type: "circle", filter: ["==", ["get", "cluster"], true], paint: {
    "circle-color": "#23223a",
    "circle-opacity": 0.88,
    "circle-radius": ["interpolate", ["linear"], ["get", "point_count"], 2, 14, 10, 18, 100, 26, 1000, 34],
    "circle-stroke-color": ["case", ["boolean", ["feature-state", "hover"], false], "#e4572e", "#ffffff"],
    "circle-stroke-width": 2,
  } },
  { id: "cluster-counts", type: "symbol", filter: ["==", ["get", "cluster"], true], layout: {
    "icon-image": ["concat", "count:", ["to-string", ["get", "point_count_abbreviated"]]],
    "icon-allow-overlap": true, "icon-ignore-placement": true,
  } },
  { id: "pins", type: "circle", filter: ["!=", ["get", "cluster"], true], paint: {
    "circle-color": typeColour,
    "circle-radius": ["case", ["boolean", ["feature-state", "hover"], false], 11, 7],
    "circle-stroke-color": ["case", ["boolean", ["feature-state", "hover"], false], "#23223a", "#ffffff"],
    "circle-stroke-width": ["case", ["boolean", ["feature-state", "hover"], false], 3, 2],
  } },
];

/** A cluster's number as an image (white, bold, centred): what a text layer would draw, without glyphs. */
function countImage(label) {
  const ratio = 2;
  const font = `bold ${12 * ratio}px "DejaVu Sans", system-ui, sans-serif`;
  const probe = document.createElement("canvas").getContext("2d");
  probe.font = font;
  const width = Math.ceil(probe.measureText(label).width) + 4 * ratio;
  const height = 16 * ratio;
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext("2d");
  ctx.font = font;
  ctx.fillStyle = "#ffffff";
  ctx.textAlign = "center";
  ctx.textBaseline = "middle";
  ctx.fillText(label, width / 2, height / 2 + ratio);
  return { image: ctx.getImageData(0, 0, width, height), pixelRatio: ratio };
}

/** min_lon,min_lat,max_lon,max_lat of the view; longitudes wrapped into -180..180 (west > east across
 * the antimeridian, RFC 7946 §5.2), the whole world when the view is wider than it. */
export function viewBbox(map) {
  const b = map.getBounds();
  const clampLat = (v) => Math.max(-85.05, Math.min(85.05, v));
  let west = b.getWest();
  let east = b.getEast();
  if (east - west >= 360) { west = -180; east = 180; } else {
    const shift = Math.floor((west + 180) / 360) * 360; // the world copy the west edge is on
    west -= shift;
    east -= shift;
    if (east > 180) east -= 360; // the view crosses the antimeridian
  }
  const r = (v) => Math.round(v * 1e5) / 1e5;
  return [r(west), r(clampLat(b.getSouth())), r(east), r(clampLat(b.getNorth()))];
}

export function createMap(container, { onViewChange, onPinClick, onPinHover }) {
  const map = new maplibregl.Map({
    container, style: baseStyle(), bounds: WORLD, renderWorldCopies: true, attributionControl: { compact: true },
    minZoom: 0, maxZoom: 17, dragRotate: false, pitchWithRotate: false, fadeDuration: 0,
  });
  map.touchZoomRotate.disableRotation();
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), "top-right");
  window.filmoMap = map; // the tests read rendered features through it

  // MapLibre asks for an image it lacks before laying out a tile's symbols; "count:<n>" is drawn then.
  map.setMissingStyleImageResolver((id) => {
    if (!id.startsWith("count:") || map.hasImage(id)) return;
    const { image, pixelRatio } = countImage(id.slice(6));
    map.addImage(id, image, { pixelRatio });
  });

  let filterQuery = "";
  let hovered = null; // {id, sourceLayer}

  const target = (id) => ({ source: SOURCE, sourceLayer: LAYER, id });

  function setHover(id) {
    if (hovered !== null) map.setFeatureState(target(hovered), { hover: false });
    hovered = id;
    if (id !== null) map.setFeatureState(target(id), { hover: true });
  }

  map.on("load", () => {
    map.addSource(SOURCE, { type: "vector", url: `${API}/tiles/projects.json` });
    for (const layer of LAYERS) map.addLayer({ ...layer, source: SOURCE, "source-layer": LAYER });

    map.on("click", "clusters", (e) => {
      const f = e.features[0];
      const zoom = Math.min(Number(f.properties.expansion_zoom) || map.getZoom() + 2, map.getMaxZoom());
      map.easeTo({ center: f.geometry.coordinates, zoom, duration: 600 });
    });
    map.on("click", "pins", (e) => onPinClick(e.features[0].properties.project_id));
    for (const layer of ["clusters", "pins"]) {
      map.on("mousemove", layer, (e) => {
        map.getCanvas().style.cursor = "pointer";
        const f = e.features[0];
        if (f.id !== hovered) setHover(f.id);
        onPinHover(layer === "pins" ? f.properties.project_id : null);
      });
      map.on("mouseleave", layer, () => { map.getCanvas().style.cursor = ""; setHover(null); onPinHover(null); });
    }
    onViewChange(viewBbox(map), map.getZoom());
  });

  let pending = null;
  map.on("moveend", () => {
    clearTimeout(pending);
    pending = setTimeout(() => onViewChange(viewBbox(map), map.getZoom()), 120);
  });

  return {
    map,
    /** New filters: the TileJSON URL carries them, so every tile is fetched again with them. */
    setFilters(query) {
      if (query === filterQuery) return;
      filterQuery = query;
      hovered = null;
      const source = map.getSource(SOURCE);
      if (source) source.setUrl(`${API}/tiles/projects.json${query ? `?${query}` : ""}`);
    },
    /** Light up the pin of one project (a list row is hovered), or none. */
    highlight(projectId) {
      if (!map.getSource(SOURCE)) return;
      if (!projectId) { setHover(null); return; }
      const [found] = map.querySourceFeatures(SOURCE, {
        sourceLayer: LAYER, filter: ["all", ["!=", ["get", "cluster"], true], ["==", ["get", "project_id"], projectId]],
      });
      setHover(found && found.id !== undefined ? found.id : null);
    },
    flyTo(lon, lat) {
      map.easeTo({ center: [lon, lat], zoom: Math.max(map.getZoom(), 11), duration: 700 });
    },
  };
}
