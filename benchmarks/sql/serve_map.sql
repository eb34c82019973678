-- What gridmap's map endpoint answers for a box, as one statement (bench_serve's peer);
-- {geom} is the geometry expression (simplified below zoom 17).
SELECT json_build_object('type', 'FeatureCollection', 'features', coalesce(json_agg(
    json_build_object(
        'type', 'Feature',
        'properties', json_build_object(
            'id', id, 'code', code, 'name', name, 'repair_note', repair_note,
            'compound_code', compound_code, 'households', households, 'floors', floors),
        'geometry', ST_AsGeoJSON({geom}, 6)::json)
    ORDER BY code), '[]'::json))::text
FROM building
WHERE geom && ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 4326)
  AND ST_Intersects(geom, ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 4326))
