/* The filter tree shared by the two query grammars (equery.c builds and
 * evaluates it; equery_aleph.c and equery_rql.c parse into it). */
#ifndef LH_MODEL_EQUERY_INT_H
#define LH_MODEL_EQUERY_INT_H

#include "lh/core/str.h"
#include "lh/model/equery.h"

typedef enum eq_field {
    F_SCHEMA, F_SCHEMATA, F_DATASET, F_ID, F_ENTITY_ID, F_CANONICAL_ID, F_PROP, F_GROUP,
    F_CONTEXT /* a column of the statement row (ftmq's C family) */
} eq_field;

/* ftmq's comparators: EQ is eq (one value) or in (list); NE is not / not_in;
 * EMPTY is null (no row of the property or group). */
typedef enum eq_op {
    OP_EQ, OP_NE, OP_GTE, OP_GT, OP_LTE, OP_LT, OP_LIKE, OP_ILIKE, OP_STARTS, OP_ENDS, OP_EMPTY
} eq_op;

typedef struct eq_leaf {
    eq_op op;
    bool list;         /* in / not_in: values is a set */
    eq_field kind;
    char *key;         /* as ftmq names the field: meta name, property or group */
    char *field;       /* F_PROP: the property; F_GROUP: the group's property type */
    size_t column;     /* F_CONTEXT: the column's offset in lh_statement (equery.c) */
    lh_strlist values; /* one, or the set of in / not_in (sorted, distinct) */
} eq_leaf;

typedef struct eq_node eq_node;
/* A child is a leaf or a node. */
typedef struct eq_item {
    eq_leaf *leaf;
    eq_node *node;
} eq_item;

struct eq_node {
    bool or, negated;
    eq_item *items;
    size_t n;
    int *bound_set; /* per item, AND nodes: leaves sharing a set hold of one row; -1 none */
};

struct lh_equery {
    const lh_model *m;
    eq_node *root; /* NULL: no filter */
    lh_strlist schemata; /* pushdown: names of a positive schema/schemata leaf */
    bool has_schemata;
    char *sort_prop;     /* -q's order and slice */
    bool sort_desc, sort_numeric, ordered;
    int64_t limit, offset;
};

/* A leaf on field (an ftmq field spelling: a meta name with Aleph's aliases,
 * properties.NAME, group.NAME; bare_props: any other name is a property, as
 * RQL reads it), the leaf's values given in order. what names the
 * parameter in errors. */
lh_status eq_leaf_new(const lh_model *m, const char *what, const char *field, bool bare_props,
                      eq_op op, bool list, const lh_strlist *values, eq_leaf **out,
                      lh_error *err);
void eq_leaf_free(eq_leaf *l);
/* Whether some schema of the model has a property prop (ftmq's known
 * property names); *numeric (when not NULL): one of them is a number, as
 * ftmq's NUMERIC_PROPS reads it. */
bool eq_prop_known(const lh_model *m, const char *prop, bool *numeric);

/* ftmq's Expr: a connector over children, non-negated children of the same
 * connector spliced in, duplicates dropped. Takes the children (and frees
 * spliced shells); NULL when there are none. */
eq_node *eq_node_new(bool or, eq_item *items, size_t n);
/* ftmq's combine of nodes: one as it is, several under the connector. */
eq_node *eq_combine(bool or, eq_item *items, size_t n);
/* A one-leaf AND node (ftmq's P(x=v)), taking the leaf. */
eq_node *eq_node_of_leaf(eq_leaf *l);
void eq_node_free(eq_node *n);

/* The query over root (taken, may be NULL), pushdowns noted. */
lh_equery *eq_query_new(const lh_model *m, eq_node *root);

#endif
