/* Floor for the import benchmarks: read FtM JSON lines, parse them, and
 * SHA-1 the key of every statement ("{dataset}.{entity_id}.{prop}.{value}",
 * plus the entity's own `id` statement) -- the work no importer can skip.
 * Not part of the product; bench/run compiles it on the fly:
 *   cc -O2 -o floor bench/floor.c -ljansson -lcrypto
 * Usage: floor FILE [DATASET]; prints "<statements> <entities>". */
#include <jansson.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned long long sink; /* keeps the hashes observable */

static void hash_key(char **buf, size_t *cap, const char *ds, const char *id, const char *prop,
                     const char *val, size_t vlen) {
  size_t need = strlen(ds) + strlen(id) + strlen(prop) + vlen + 4;
  if (need > *cap) {
    *cap = need * 2;
    *buf = realloc(*buf, *cap);
    if (!*buf) abort();
  }
  int n = snprintf(*buf, *cap, "%s.%s.%s.", ds, id, prop);
  memcpy(*buf + n, val, vlen);
  unsigned char md[SHA_DIGEST_LENGTH];
  SHA1((const unsigned char *)*buf, (size_t)n + vlen, md);
  sink += md[0];
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: floor FILE [DATASET]\n");
    return 2;
  }
  const char *ds = argc > 2 ? argv[2] : "bench";
  FILE *f = fopen(argv[1], "rb");
  if (!f) {
    perror(argv[1]);
    return 1;
  }
  char *line = NULL, *key = NULL;
  size_t lcap = 0, kcap = 0;
  ssize_t len;
  unsigned long long statements = 0, entities = 0;
  while ((len = getline(&line, &lcap, f)) > 0) {
    json_error_t err;
    json_t *e = json_loadb(line, (size_t)len, 0, &err);
    if (!e) {
      fprintf(stderr, "line %llu: %s\n", entities + 1, err.text);
      return 1;
    }
    const char *id = json_string_value(json_object_get(e, "id"));
    if (!id) return 1;
    hash_key(&key, &kcap, ds, id, "id", id, strlen(id));
    statements++;
    const char *prop;
    json_t *values;
    json_object_foreach(json_object_get(e, "properties"), prop, values) {
      size_t i;
      json_t *v;
      json_array_foreach(values, i, v) {
        hash_key(&key, &kcap, ds, id, prop, json_string_value(v), json_string_length(v));
        statements++;
      }
    }
    entities++;
    json_decref(e);
  }
  printf("%llu %llu\n", statements, entities);
  free(line);
  free(key);
  fclose(f);
  return sink == 0xffffffffffffffffULL; /* never true; defeats dead-code elimination */
}
