/* assets.h - the console's files, embedded at build time (cmake/embed_dir.cmake) */
#ifndef MUSTER_API_ASSETS_H
#define MUSTER_API_ASSETS_H

#include <stddef.h>

typedef struct api_asset {
    const char *path; /* "/index.html": its path under api/console/ */
    const unsigned char *data;
    size_t len;
    const char *etag; /* "\"<SHA-256 hex>\"" of the content */
} api_asset;

extern const api_asset api_assets[];
extern const size_t api_nassets;

#endif
