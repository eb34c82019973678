-- What gridmap's OGC items endpoint answers for a box and a page size, on SpatiaLite
-- (bench_serve_lite's peer): the R*Tree through SpatialIndex, the exact test, the page by code.
WITH hits AS (
    SELECT id, code, name, updated_at, compound_code, households, floors, geom
    FROM building
    WHERE id IN (SELECT ROWID FROM SpatialIndex WHERE f_table_name = 'building'
                 AND search_frame = BuildMbr(:x0, :y0, :x1, :y1, 4326))
      AND ST_Intersects(geom, BuildMbr(:x0, :y0, :x1, :y1, 4326))
),
page AS (SELECT * FROM hits ORDER BY code, id LIMIT :limit)
SELECT json_object(
    'type', 'FeatureCollection',
    'numberMatched', (SELECT count(*) FROM hits),
    'numberReturned', (SELECT count(*) FROM page),
    'features', (SELECT json_group_array(json_object(
        'type', 'Feature', 'id', code,
        'geometry', json(AsGeoJSON(geom, 7)),
        'properties', json_object(
            'code', code, 'name', name,
            'updated_at', strftime('%Y-%m-%dT%H:%M:%SZ', updated_at),
            'compound_code', compound_code, 'households', households, 'floors', floors)))
        FROM (SELECT * FROM page ORDER BY code, id)))
