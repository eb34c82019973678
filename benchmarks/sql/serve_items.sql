-- What gridmap's OGC items endpoint answers for a box and a page size (bench_serve's peer).
WITH hits AS (
    SELECT id, code, name, updated_at, compound_code, households, floors, geom
    FROM building
    WHERE geom && ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 4326)
      AND ST_Intersects(geom, ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 4326))
),
page AS (SELECT * FROM hits ORDER BY code, id LIMIT %(limit)s)
SELECT json_build_object(
    'type', 'FeatureCollection',
    'numberMatched', (SELECT count(*) FROM hits),
    'numberReturned', count(*),
    'features', coalesce(json_agg(json_build_object(
        'type', 'Feature', 'id', code,
        'geometry', ST_AsGeoJSON(geom, 7)::json,
        'properties', json_build_object(
            'code', code, 'name', name,
            'updated_at', to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
            'compound_code', compound_code, 'households', households, 'floors', floors))
    ORDER BY code, id), '[]'::json))::text
FROM page
