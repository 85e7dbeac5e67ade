// neurohebb's NEST extension module: the IR's discrete-time LIF and the IR's
// spike-triggered plasticity algebra (arrival-based pairing), step for step.
//
// Built once per NEST version by neurohebb.backends.nest.module (g++ against
// the headers that ship with NEST) and cached under the user cache folder.
//
// Time mapping (OFFSET = 1): IR step t is NEST stamp t + 1 + OFFSET (ms at a
// resolution of 1 ms).  A neuron updating the interval that ends at stamp k
// computes IR step k - 1 - OFFSET; a spike it emits carries stamp k.  With a
// NEST delay D = 1 + delay (steps) the spike is read by the target in the
// update that ends at k + D, i.e. IR step t + 1 + delay, as the IR says.
//
// neurohebb_lif (IR lif):
//   u[t] = u[t-1] * kdu + I[t]
//   v[t] = v[t-1] * kdv + u[t] + bias      (not while refractory)
//   spike if v[t] > vth; then v = v_reset, refractory for the next R steps.
//
// neurohebb_synapse: dw = sum_k c_k * dep_k * prod(factors_k), dep in {x0, y0},
// factors in {x1, x2, y1, y2, y3, w + offset}; traces
// z[t] = decay * z[t-1] + impulse * a[t] (x: arriving pre spikes, y: post
// spikes); exclusive timing: x0/y0 products read the traces before this
// step's impulses, inclusive: after.  w is clipped to [lo, hi] once per step.
// Events are processed lazily in step order, grouped by step as the
// reference does; the weight a spike carries is the weight after every event
// up to the step before its arrival (IR: input of step t+1 uses W(t+1)).
// Only delay 0 (NEST delay 1) is exact: a later arrival would need post
// spikes that NEST has not computed when it delivers the spike.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "archiving_node.h"
#include "connection.h"
#include "connector_model.h"
#include "dict_util.h"
#include "event.h"
#include "kernel_manager.h"
#include "model_manager_impl.h"
#include "nest_extension_interface.h"
#include "ring_buffer.h"

namespace neurohebb
{
static constexpr long OFFSET = 1;

class lif : public nest::ArchivingNode
{
public:
  lif() = default;
  lif( const lif& o )
    : ArchivingNode( o )
    , kdu( o.kdu )
    , kdv( o.kdv )
    , vth( o.vth )
    , v_reset( o.v_reset )
    , bias( o.bias )
    , R( o.R )
    , u( o.u )
    , v( o.v )
    , I( o.I )
    , refrac_left( o.refrac_left )
    , n_spikes( o.n_spikes )
  {
  }

  double kdu { 1.0 }, kdv { 1.0 }, vth { 1.0 }, v_reset { 0.0 }, bias { 0.0 };
  long R { 0 };
  double u { 0.0 }, v { 0.0 }, I { 0.0 };
  long refrac_left { 0 };
  long n_spikes { 0 };
  //! IR steps of this neuron's spikes (read by neurohebb_synapse, same thread)
  std::vector< long > history;

  using nest::Node::handle;
  using nest::Node::handles_test_event;

  size_t
  send_test_event( nest::Node& target, size_t receptor, nest::synindex, bool ) override
  {
    nest::SpikeEvent e;
    e.set_sender( *this );
    return target.handles_test_event( e, receptor );
  }
  size_t
  handles_test_event( nest::SpikeEvent&, size_t receptor ) override
  {
    if ( receptor != 0 )
    {
      throw nest::UnknownReceptorType( receptor, get_name() );
    }
    return 0;
  }
  void
  handle( nest::SpikeEvent& e ) override
  {
    buf_.add_value( e.get_rel_delivery_steps( nest::kernel().simulation_manager.get_slice_origin() ),
      e.get_weight() * e.get_multiplicity() );
  }
  void
  get_status( Dictionary& d ) const override
  {
    ArchivingNode::get_status( d );
    d[ "kdu" ] = kdu;
    d[ "kdv" ] = kdv;
    d[ "vth" ] = vth;
    d[ "v_reset" ] = v_reset;
    d[ "bias" ] = bias;
    d[ "refractory" ] = R;
    d[ "u" ] = u;
    d[ "v" ] = v;
    d[ "I" ] = I;
    d[ "refrac_left" ] = refrac_left;
    d[ "n_spikes" ] = n_spikes;
  }
  void
  set_status( const Dictionary& d ) override
  {
    double nkdu = kdu, nkdv = kdv, nvth = vth, nreset = v_reset, nbias = bias, nu = u, nv = v;
    long nR = R;
    d.update_value( "kdu", nkdu );
    d.update_value( "kdv", nkdv );
    d.update_value( "vth", nvth );
    d.update_value( "v_reset", nreset );
    d.update_value( "bias", nbias );
    d.update_value( "refractory", nR );
    d.update_value( "u", nu );
    d.update_value( "v", nv );
    if ( nR < 0 )
    {
      throw nest::BadProperty( "refractory must be >= 0 steps" );
    }
    ArchivingNode::set_status( d );
    kdu = nkdu;
    kdv = nkdv;
    vth = nvth;
    v_reset = nreset;
    bias = nbias;
    R = nR;
    u = nu;
    v = nv;
  }

private:
  nest::RingBuffer buf_;
  void
  init_buffers_() override
  {
    buf_.clear();
    history.clear();
    ArchivingNode::clear_history();
  }
  void
  pre_run_hook() override
  {
  }
  void
  update( nest::Time const& origin, const long from, const long to ) override
  {
    for ( long lag = from; lag < to; ++lag )
    {
      const long stamp = origin.get_steps() + lag + 1;
      const long t = stamp - 1 - OFFSET;
      const double in = buf_.get_value( lag );
      if ( t < 0 )
      {
        continue;
      }
      I = in;
      u = u * kdu + in;
      if ( refrac_left > 0 )
      {
        refrac_left -= 1;
      }
      else
      {
        v = v * kdv + u + bias;
      }
      if ( v > vth )
      {
        v = v_reset;
        refrac_left = R;
        ++n_spikes;
        history.push_back( t );
        set_spiketime( nest::Time::step( stamp ) );
        nest::SpikeEvent se;
        nest::kernel().event_delivery_manager.send( *this, se, lag );
      }
    }
  }
};

//! The rule of one projection (a copied synapse model): products and traces.
class RuleProperties : public nest::CommonSynapseProperties
{
public:
  // traces: 0 x1, 1 x2, 2 y1, 3 y2, 4 y3; factor codes 5: w, 6: r (third factor)
  std::vector< double > decay { 0, 0, 0, 0, 0 }, impulse { 1, 1, 1, 1, 1 };
  std::vector< double > coeff;    // per product
  std::vector< long > dep;        // per product: 0 x0, 1 y0
  std::vector< long > nfac;       // per product: number of factors
  std::vector< long > fac_var;    // all factors, in product order
  std::vector< double > fac_off;  // their bracket offsets
  bool exclusive { true };
  bool used[ 5 ] { false, false, false, false, false };  // traces a factor reads or the rule declares
  std::vector< long > trace_used { 0, 0, 0, 0, 0 };     // the rule's declared traces (probes)
  //! the third factor r[t] (a precomputed modulator series): r_series[t * r_cols + post index]
  std::vector< double > r_series;
  long r_cols { 1 };
  long r_first { 0 };  //! node id of the post population's first neuron (its index 0)
  double lo { -std::numeric_limits< double >::infinity() }, hi { std::numeric_limits< double >::infinity() };

  void
  get_status( Dictionary& d ) const
  {
    CommonSynapseProperties::get_status( d );
    d[ "trace_decay" ] = decay;
    d[ "trace_impulse" ] = impulse;
    d[ "prod_coeff" ] = coeff;
    d[ "prod_dep" ] = dep;
    d[ "prod_nfac" ] = nfac;
    d[ "fac_var" ] = fac_var;
    d[ "fac_off" ] = fac_off;
    d[ "exclusive" ] = exclusive;
    d[ "w_lo" ] = lo;
    d[ "w_hi" ] = hi;
    d[ "trace_used" ] = trace_used;
    d[ "r_series" ] = r_series;
    d[ "r_cols" ] = r_cols;
    d[ "r_first" ] = r_first;
  }
  void
  set_status( const Dictionary& d, nest::ConnectorModel& cm )
  {
    CommonSynapseProperties::set_status( d, cm );
    auto ndecay = decay, nimp = impulse, ncoeff = coeff, noff = fac_off;
    auto ndep = dep, nnfac = nfac, nvar = fac_var;
    d.update_value( "trace_decay", ndecay );
    d.update_value( "trace_impulse", nimp );
    d.update_value( "prod_coeff", ncoeff );
    d.update_value( "prod_dep", ndep );
    d.update_value( "prod_nfac", nnfac );
    d.update_value( "fac_var", nvar );
    d.update_value( "fac_off", noff );
    d.update_value( "exclusive", exclusive );
    d.update_value( "w_lo", lo );
    d.update_value( "w_hi", hi );
    auto ntu = trace_used;
    d.update_value( "trace_used", ntu );
    if ( ntu.size() != 5 )
    {
      throw nest::BadProperty( "trace_used needs 5 values (x1 x2 y1 y2 y3)" );
    }
    trace_used = ntu;
    d.update_value( "r_series", r_series );
    d.update_value( "r_cols", r_cols );
    d.update_value( "r_first", r_first );
    if ( r_cols < 1 )
    {
      throw nest::BadProperty( "r_cols must be >= 1" );
    }
    if ( ndecay.size() != 5 or nimp.size() != 5 )
    {
      throw nest::BadProperty( "trace_decay and trace_impulse need 5 values (x1 x2 y1 y2 y3)" );
    }
    if ( ndep.size() != ncoeff.size() or nnfac.size() != ncoeff.size() or nvar.size() != noff.size() )
    {
      throw nest::BadProperty( "prod_coeff, prod_dep, prod_nfac must have one value per product" );
    }
    long total = 0;
    for ( size_t k = 0; k < ncoeff.size(); ++k )
    {
      if ( ndep[ k ] != 0 and ndep[ k ] != 1 )
      {
        throw nest::BadProperty( "prod_dep: 0 (x0) or 1 (y0)" );
      }
      total += nnfac[ k ];
    }
    if ( total != static_cast< long >( nvar.size() ) )
    {
      throw nest::BadProperty( "fac_var must hold sum(prod_nfac) factors" );
    }
    for ( long c : nvar )
    {
      if ( c < 0 or c > 6 )
      {
        throw nest::BadProperty( "fac_var codes: 0 x1, 1 x2, 2 y1, 3 y2, 4 y3, 5 w, 6 r" );
      }
    }
    for ( int k = 0; k < 5; ++k )
    {
      used[ k ] = trace_used[ k ] != 0 or std::find( nvar.begin(), nvar.end(), long( k ) ) != nvar.end();
    }
    decay = ndecay;
    impulse = nimp;
    coeff = ncoeff;
    dep = ndep;
    nfac = nnfac;
    fac_var = nvar;
    fac_off = noff;
  }
};

struct SynState
{
  double w { 0.0 };
  double x[ 2 ] { 0.0, 0.0 };       // pre traces after the impulse of step tx
  double y[ 3 ] { 0.0, 0.0, 0.0 };  // post traces after the impulse of step ty
  long tx { -1 }, ty { -1 };
  long pending { -1 };    // arrival step not yet processed
  std::uint32_t cursor { 0 };  // next entry of the post history to process

  //! one IR step t with a pre arrival (x0) and/or a post spike (y0)
  void
  step( long t, bool x0, bool y0, const RuleProperties& r, long post_idx )
  {
    double rv = 0.0;
    const size_t at = static_cast< size_t >( t * r.r_cols + ( r.r_cols > 1 ? post_idx : 0 ) );
    if ( at < r.r_series.size() )
    {
      rv = r.r_series[ at ];
    }
    double xb[ 2 ] { 0.0, 0.0 }, yb[ 3 ] { 0.0, 0.0, 0.0 }, xa[ 2 ] { 0.0, 0.0 }, ya[ 3 ] { 0.0, 0.0, 0.0 };
    for ( int k = 0; k < 2; ++k )
    {
      if ( not r.used[ k ] )
      {
        continue;
      }
      xb[ k ] = tx < 0 ? 0.0 : x[ k ] * std::pow( r.decay[ k ], double( t - tx ) );
      xa[ k ] = x0 ? xb[ k ] + r.impulse[ k ] : xb[ k ];
    }
    for ( int k = 0; k < 3; ++k )
    {
      if ( not r.used[ 2 + k ] )
      {
        continue;
      }
      yb[ k ] = ty < 0 ? 0.0 : y[ k ] * std::pow( r.decay[ 2 + k ], double( t - ty ) );
      ya[ k ] = y0 ? yb[ k ] + r.impulse[ 2 + k ] : yb[ k ];
    }
    const double* xs = r.exclusive ? xb : xa;
    const double* ys = r.exclusive ? yb : ya;
    double dw = 0.0;
    size_t f = 0;
    for ( size_t k = 0; k < r.coeff.size(); ++k )
    {
      const long nf = r.nfac[ k ];
      const bool on = r.dep[ k ] == 0 ? x0 : y0;
      if ( not on )
      {
        f += nf;
        continue;
      }
      double term = r.coeff[ k ];
      for ( long q = 0; q < nf; ++q, ++f )
      {
        const long c = r.fac_var[ f ];
        double val = c < 2 ? xs[ c ] : ( c < 5 ? ys[ c - 2 ] : ( c == 5 ? w : rv ) );
        term *= val + r.fac_off[ f ];
      }
      dw += term;
    }
    double w2 = w + dw;
    w = std::min( std::max( w2, r.lo ), r.hi );
    x[ 0 ] = xa[ 0 ];
    x[ 1 ] = xa[ 1 ];
    tx = t;
    y[ 0 ] = ya[ 0 ];
    y[ 1 ] = ya[ 1 ];
    y[ 2 ] = ya[ 2 ];
    ty = t;
  }

  //! process every event up to and including IR step upto
  void
  advance( long upto, const std::vector< long >& post, const RuleProperties& r, long post_idx )
  {
    while ( true )
    {
      const long tp = cursor < post.size() ? post[ cursor ] : std::numeric_limits< long >::max();
      const long ta = pending >= 0 ? pending : std::numeric_limits< long >::max();
      const long t = std::min( tp, ta );
      if ( t > upto or t == std::numeric_limits< long >::max() )
      {
        return;
      }
      const bool x0 = ta == t, y0 = tp == t;
      step( t, x0, y0, r, post_idx );
      if ( x0 )
      {
        pending = -1;
      }
      if ( y0 )
      {
        ++cursor;
      }
    }
  }
};

template < typename TargetIdentifierT >
class synapse : public nest::Connection< TargetIdentifierT >
{
public:
  using Base = nest::Connection< TargetIdentifierT >;
  using CommonPropertiesType = RuleProperties;
  static constexpr nest::ConnectionModelProperties properties =
    nest::ConnectionModelProperties::HAS_DELAY | nest::ConnectionModelProperties::IS_PRIMARY;

  class Dummy : public nest::ConnTestDummyNodeBase
  {
  public:
    using nest::ConnTestDummyNodeBase::handles_test_event;
    size_t
    handles_test_event( nest::SpikeEvent&, size_t ) override
    {
      return nest::invalid_port;
    }
  };

  void
  check_connection( nest::Node& s, nest::Node& t, size_t receptor, const CommonPropertiesType& )
  {
    Dummy dummy;
    Base::check_connection_( dummy, s, t, receptor );
    if ( not dynamic_cast< lif* >( &t ) )
    {
      throw nest::IllegalConnection( "neurohebb_synapse needs a neurohebb_lif target" );
    }
    if ( Base::get_delay_steps() != 1 )
    {
      throw nest::BadProperty( "neurohebb_synapse is exact only with a delay of one step (IR delay 0)" );
    }
  }
  void
  set_weight( double value )
  {
    s_.w = value;
  }
  void
  get_status( Dictionary& d ) const
  {
    Base::get_status( d );
    // the weight after every event up to the last simulated step
    const auto& cm = nest::kernel().model_manager.get_connection_model( Base::get_syn_id(), 0 );
    const auto& r = static_cast< const RuleProperties& >( cm.get_common_properties() );
    SynState copy = s_;
    const auto* tgt = static_cast< const lif* >( Base::get_target( 0 ) );
    const long last = nest::kernel().simulation_manager.get_time().get_steps() - 1 - OFFSET;
    if ( tgt )
    {
      copy.advance( last, tgt->history, r, static_cast< long >( tgt->get_node_id() ) - r.r_first );
    }
    d[ nest::names::weight ] = copy.w;
    // the traces after the impulses of the last simulated step
    static const char* names[ 5 ] = { "x1", "x2", "y1", "y2", "y3" };
    for ( int k = 0; k < 5; ++k )
    {
      const bool pre = k < 2;
      const long t0 = pre ? copy.tx : copy.ty;
      const double z = pre ? copy.x[ k ] : copy.y[ k - 2 ];
      d[ names[ k ] ] = t0 < 0 ? 0.0 : z * std::pow( r.decay[ k ], double( last - t0 ) );
    }
    d[ "weight_at_last_event" ] = s_.w;
  }
  void
  set_status( const Dictionary& d, nest::ConnectorModel& cm )
  {
    Base::set_status( d, cm );
    d.update_value( nest::names::weight, s_.w );
  }
  bool
  send( nest::Event& e, size_t thread, const CommonPropertiesType& r )
  {
    auto* target = static_cast< lif* >( Base::get_target( thread ) );
    const long s = e.get_stamp().get_steps() - 1 - OFFSET;  // IR step of the pre spike
    s_.advance( s, target->history, r, static_cast< long >( target->get_node_id() ) - r.r_first );  // W(s + 1)
    e.set_receiver( *target );
    e.set_weight( s_.w );
    e.set_delay_steps( Base::get_delay_steps() );
    e.set_rport( Base::get_rport() );
    e();
    s_.pending = s + 1;  // arrives (x0) at step s + 1
    return true;
  }

private:
  SynState s_;
};

template < typename T >
constexpr nest::ConnectionModelProperties synapse< T >::properties;

class Module : public nest::NESTExtensionInterface
{
public:
  void
  initialize() override
  {
    nest::register_node_model< lif >( "neurohebb_lif" );
    nest::register_connection_model< synapse >( "neurohebb_synapse" );
  }
};
}

neurohebb::Module neurohebb_nest_LTX_module;
